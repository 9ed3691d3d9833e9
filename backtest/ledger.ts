/**
 * A strategy's money in a backtest: cash from its fills, their costs, its positions marked at the
 * data's last price. Integers in the venue's money unit (costs.ts MONEY_UNIT). Equity is cash +
 * the marked value of the positions (net of costs, starting at 0); the drawdown is measured on
 * every change, the curve kept as at most `points` samples for the report.
 */
import type { Side } from '../actors/messages.ts';
import { fillValue } from './costs.ts';

export type EquityPoint = { ts: number; equity: number; drawdown: number };

type Holding = { qty: number; last: number };

export class Ledger {
  cash = 0;
  costs = 0;
  fills = 0;
  filledQty = 0;
  private readonly holdings = new Map<string, Holding>();
  private marked = 0;
  private peak = 0;
  maxDrawdown = 0;
  maxExposure = 0;
  /** ∫ gross exposure dt, for the time-weighted average. */
  private exposureArea = 0;
  private lastTs: number | undefined;
  private firstTs: number | undefined;
  readonly curve: EquityPoint[] = [];
  private nextSampleTs = Number.NEGATIVE_INFINITY;

  /** `sampleEveryMs`: the curve keeps a point at most this often (and at every fill). */
  constructor(private readonly sampleEveryMs: number) {}

  get equity(): number {
    return this.cash + this.marked;
  }
  /** The positions at their last price (signed: a short is negative). */
  get marketValue(): number {
    return this.marked;
  }
  get grossExposure(): number {
    let g = 0;
    for (const h of this.holdings.values()) g += Math.abs(fillValue(h.qty, h.last));
    return g;
  }
  /** Whether a price of this symbol moves this ledger (most ticks do not). */
  holds(symbol: string): boolean {
    return this.holdings.has(symbol);
  }

  fill(ts: number, symbol: string, side: Side, qty: number, price: number, cost: number): void {
    this.advance(ts);
    const signed = side === 'BUY' ? qty : -qty;
    this.cash -= signed * price + cost;
    this.costs += cost;
    this.fills++;
    this.filledQty += qty;
    const h = this.holdings.get(symbol) ?? { qty: 0, last: price };
    this.marked -= fillValue(h.qty, h.last);
    h.qty += signed;
    h.last = price;
    this.marked += fillValue(h.qty, h.last);
    if (h.qty === 0) this.holdings.delete(symbol);
    else this.holdings.set(symbol, h);
    this.changed(ts, true);
  }

  mark(ts: number, symbol: string, price: number): void {
    const h = this.holdings.get(symbol);
    if (!h) return;
    this.advance(ts);
    this.marked += fillValue(h.qty, price) - fillValue(h.qty, h.last);
    h.last = price;
    this.changed(ts, false);
  }

  /** The last point of the curve, at the end of the data. */
  close(ts: number): void {
    this.advance(ts);
    const last = this.curve.at(-1);
    if (!last || last.ts !== ts) this.curve.push({ ts, equity: this.equity, drawdown: this.peak - this.equity });
  }

  averageExposure(): number {
    const span = (this.lastTs ?? 0) - (this.firstTs ?? 0);
    return span > 0 ? Math.round(this.exposureArea / span) : this.grossExposure;
  }

  positions(): Record<string, number> {
    return Object.fromEntries([...this.holdings].map(([s, h]) => [s, h.qty]));
  }

  /** Time passes at the current exposure until `ts`. */
  private advance(ts: number): void {
    if (this.firstTs === undefined) this.firstTs = ts;
    if (this.lastTs !== undefined && ts > this.lastTs) this.exposureArea += this.grossExposure * (ts - this.lastTs);
    if (this.lastTs === undefined || ts > this.lastTs) this.lastTs = ts;
  }

  private changed(ts: number, always: boolean): void {
    const e = this.equity;
    if (e > this.peak) this.peak = e;
    const dd = this.peak - e;
    if (dd > this.maxDrawdown) this.maxDrawdown = dd;
    const g = this.grossExposure;
    if (g > this.maxExposure) this.maxExposure = g;
    if (always || ts >= this.nextSampleTs) {
      this.curve.push({ ts, equity: e, drawdown: dd });
      this.nextSampleTs = ts + this.sampleEveryMs;
    }
  }
}
