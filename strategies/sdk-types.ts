// Re-exported message types so strategy authors import only from the SDK.
//
// A `Tick` (actors/messages.ts, validated on every receive), one per instrument update:
//   type    'tick'
//   venue   'kite' | 'kalshi'
//   symbol  the registry's instrument: Kite `EXCHANGE:SYMBOL` (NSE:INFY), Kalshi the market ticker
//   seq     per symbol, assigned by the broker, +1 each tick: a jump is a lost tick (counted in
//           `orch status` GAPS); a tick the strategy has seen (same or lower seq) is never
//           delivered twice, so the last tick replayed at start is not seen again live; a standby
//           broker that takes over numbers above its predecessor (from its lease epoch,
//           actors/messages.ts TICK_EPOCH_SPAN), and that change of broker is no gap
//   ts      exchange time of the update, ms since the epoch (Kite: the exchange timestamp in
//           `full` mode, else when the broker received it; Kalshi: the book update's time)
//   recvTs  when the broker received it, ms since the epoch (tick lag = recvTs - ts)
//   last    minor units (paise; Kalshi hundredths of a cent). Kite: the last traded price.
//           Kalshi: the mid of the best YES bid and ask (rounded down), or the only side
//           quoted: Kalshi ticks are book updates, not trades
//   bid     best bid, minor units, when known: Kite only in `tickMode: full` (depth), Kalshi
//           the best YES bid; absent on an empty side
//   ask     best ask, likewise (Kalshi: the best YES ask, i.e. 1 dollar minus the best NO bid)
//   volume  Kite `quote`/`full` only: the day's traded volume in shares; absent on Kalshi
// Prices and quantities are exact integers; never compute them in floating point.
export type { Tick, OrderUpdate, IntentReply, Side, KillLevel, BrokerEvent, Venue } from '../actors/messages.ts';
