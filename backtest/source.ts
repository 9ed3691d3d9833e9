/**
 * What a backtest reads: the store's recorded ticks of each instrument the strategies trade,
 * or, where none were recorded in the range, its candles turned into ticks; all merged into one
 * time-ordered stream (store.ts mergeByTime: equal times in instrument order, so a replay of the
 * same data is the same sequence).
 */
import type { Tick } from '../actors/messages.ts';
import type { Venue } from '../actors/messages.ts';
import { mergeByTime, readCandles, readTicks, type Candle, type Interval, type StoreOptions } from './store.ts';

export const INTERVAL_MS: Record<Interval, number> = {
  minute: 60_000, '3minute': 180_000, '5minute': 300_000, '10minute': 600_000, '15minute': 900_000,
  '30minute': 1_800_000, '60minute': 3_600_000, day: 86_400_000,
};

export type Instrument = { venue: Venue; symbol: string };

/**
 * A candle as four ticks inside its interval: open at its start, then the extreme nearer the
 * open's side (low first on a rising candle, high first on a falling one), then the other, and
 * the close just before the next candle. A price path no finer than the candle is all the data
 * says; this order is the usual conservative reading of it. On Kalshi each tick also carries a
 * touch derived from its price (quoteOf).
 */
export function candleTicks(c: Candle, seq: number): Tick[] {
  const span = INTERVAL_MS[c.interval];
  const rising = c.close >= c.open;
  const prices = [c.open, rising ? c.low : c.high, rising ? c.high : c.low, c.close];
  const at = [0, Math.floor(span / 4), Math.floor(span / 2), span - 1];
  return prices.map((last, i) => ({ type: 'tick', venue: c.venue, symbol: c.instrument, seq: seq + i, ts: c.ts + at[i]!, recvTs: c.ts + at[i]!, last, ...quoteOf(c.venue, last) }));
}

/** Kalshi's classic grid: whole cents (1c = 100 in hundredths of a cent), prices 1c..99c. */
const KALSHI_CENT = 100;
const KALSHI_MAX = 9_900;

/**
 * The touch a candle's tick carries, since a candle has none: on Kalshi, one cent either side of
 * the price (the tightest book its whole-cent grid allows), so a strategy that quotes against
 * the touch (the Kalshi quoter) trades on candles, and what it quotes against is the traded
 * price. Only where both sides fit inside 1c..99c; Kite's ticks carry no touch (its backtest
 * exchange draws a book around the price itself, backtest/kite-venue.ts).
 */
export function quoteOf(venue: Venue, last: number): { bid?: number; ask?: number } {
  if (venue !== 'kalshi') return {};
  const bid = last - KALSHI_CENT;
  const ask = last + KALSHI_CENT;
  return bid >= KALSHI_CENT && ask <= KALSHI_MAX ? { bid, ask } : {};
}

async function* ticksOf(i: Instrument, from: number, to: number, interval: Interval, store: StoreOptions): AsyncGenerator<Tick> {
  let seq = 0;
  for await (const t of readTicks({ venue: i.venue, instrument: i.symbol, from, to }, store)) {
    seq++;
    // Numbered again: the backtest's stream is the one a strategy sees, without the live gaps.
    yield { ...t, seq };
  }
  if (seq > 0) return;
  for await (const c of readCandles({ venue: i.venue, instrument: i.symbol, interval, from, to }, store)) {
    for (const t of candleTicks(c, seq + 1)) yield t;
    seq += 4;
  }
}

/** Every instrument's ticks in [from, to), oldest first. */
export function dataTicks(instruments: readonly Instrument[], from: number, to: number, interval: Interval, store: StoreOptions): AsyncIterable<Tick> {
  return mergeByTime(instruments.map((i) => ticksOf(i, from, to, interval, store)));
}
