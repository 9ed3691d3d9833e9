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
 * says; this order is the usual conservative reading of it.
 */
export function candleTicks(c: Candle, seq: number): Tick[] {
  const span = INTERVAL_MS[c.interval];
  const rising = c.close >= c.open;
  const prices = [c.open, rising ? c.low : c.high, rising ? c.high : c.low, c.close];
  const at = [0, Math.floor(span / 4), Math.floor(span / 2), span - 1];
  return prices.map((last, i) => ({ type: 'tick', venue: c.venue, symbol: c.instrument, seq: seq + i, ts: c.ts + at[i]!, recvTs: c.ts + at[i]!, last }));
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
