/**
 * The seeded price path. Everything is integer paise so that matching compares exact integers;
 * rupees appear only at the wire. Same seed + same number of steps = same prices.
 */
import type { SimInstrument } from './instruments.ts';
import { mulberry32, randInt, type Rng } from '../../../actors/prng.ts';

/** NSE equity tick, 0.05 rupees. */
export const TICK_PAISE = 5;

export type DepthLevel = { pricePaise: number; quantity: number; orders: number };

export type MarketState = {
  lastPaise: number;
  openPaise: number;
  highPaise: number;
  lowPaise: number;
  closePaise: number;
  lastQuantity: number;
  volume: number;
  /** Sum of price × quantity of the day's prints, for the average traded price. */
  turnoverPaise: number;
  totalBuyQuantity: number;
  totalSellQuantity: number;
  lastTradeMs: number;
  bids: DepthLevel[];
  asks: DepthLevel[];
};

export function snapToTick(paise: number): number {
  return Math.max(TICK_PAISE, Math.round(paise / TICK_PAISE) * TICK_PAISE);
}

export class Market {
  private readonly rng: Rng;
  private readonly states = new Map<number, MarketState>();

  constructor(readonly instruments: SimInstrument[], seed: number, nowMs: number) {
    this.rng = mulberry32(seed);
    for (const i of instruments) {
      // A small opening gap so open != close and the day's change is not always zero.
      const gap = Math.round(i.closePaise * (this.rng() - 0.5) * 0.01);
      const open = snapToTick(i.closePaise + gap);
      const s: MarketState = {
        lastPaise: open, openPaise: open, highPaise: open, lowPaise: open, closePaise: i.closePaise,
        lastQuantity: 0, volume: 0, turnoverPaise: 0, totalBuyQuantity: 0, totalSellQuantity: 0,
        lastTradeMs: nowMs, bids: [], asks: [],
      };
      this.states.set(i.instrumentToken, s);
      this.print(i, s, nowMs);
    }
  }

  state(token: number): MarketState | undefined {
    return this.states.get(token);
  }

  /** One step of the random walk for every instrument. */
  step(nowMs: number): void {
    for (const i of this.instruments) {
      const s = this.states.get(i.instrumentToken)!;
      // Up to ~0.05% of price per step, in whole ticks, so prices stay on the 0.05 grid.
      const maxTicks = Math.max(1, Math.round((s.lastPaise * 0.0005) / TICK_PAISE));
      const ticks = randInt(this.rng, -maxTicks, maxTicks);
      this.move(i, s, snapToTick(s.lastPaise + ticks * TICK_PAISE), nowMs);
    }
  }

  /** Forces a last price (tests use it to make resting limit orders cross). */
  setPrice(token: number, paise: number, nowMs: number): void {
    const i = this.instruments.find((x) => x.instrumentToken === token);
    const s = this.states.get(token);
    if (!i || !s) throw new Error(`unknown instrument token ${token}`);
    this.move(i, s, snapToTick(paise), nowMs);
  }

  private move(i: SimInstrument, s: MarketState, price: number, nowMs: number): void {
    s.lastPaise = price;
    s.highPaise = Math.max(s.highPaise, price);
    s.lowPaise = Math.min(s.lowPaise, price);
    this.print(i, s, nowMs);
  }

  /** A trade print at the last price plus a fresh book around it (tradables only). */
  private print(i: SimInstrument, s: MarketState, nowMs: number): void {
    if (!i.tradable) return;
    const qty = randInt(this.rng, 1, 500);
    s.lastQuantity = qty;
    s.volume += qty;
    s.turnoverPaise += qty * s.lastPaise;
    s.lastTradeMs = nowMs;
    s.bids = [];
    s.asks = [];
    for (let k = 1; k <= 5; k++) {
      s.bids.push({ pricePaise: Math.max(TICK_PAISE, s.lastPaise - k * TICK_PAISE), quantity: randInt(this.rng, 50, 3000), orders: randInt(this.rng, 1, 40) });
      s.asks.push({ pricePaise: s.lastPaise + k * TICK_PAISE, quantity: randInt(this.rng, 50, 3000), orders: randInt(this.rng, 1, 40) });
    }
    s.totalBuyQuantity = s.bids.reduce((a, l) => a + l.quantity, 0) * 40;
    s.totalSellQuantity = s.asks.reduce((a, l) => a + l.quantity, 0) * 40;
  }
}

export function averagePricePaise(s: MarketState): number {
  return s.volume > 0 ? Math.round(s.turnoverPaise / s.volume) : s.lastPaise;
}

export const toRupees = (paise: number): number => Math.round(paise) / 100;
