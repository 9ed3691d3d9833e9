/**
 * The seeded price path. Everything is integer paise so that matching compares exact integers;
 * rupees appear only at the wire. Same seed + same number of steps = same prices.
 */
import { isDerivative, tickPaiseOf, type SimInstrument } from './instruments.ts';
import { mulberry32, randInt, type Rng } from '../../actors/prng.ts';

/** NSE equity tick, 0.05 rupees. Other grids come from the instrument (`tickPaiseOf`). */
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
  /** Open interest in units (F&O only; 0 for the cash market and indices), with the day's range. */
  oi: number;
  oiDayHigh: number;
  oiDayLow: number;
};

export function snapToTick(paise: number, tick = TICK_PAISE): number {
  return Math.max(tick, Math.round(paise / tick) * tick);
}

/** Open interest a contract starts the day with, in lots (about 1.1 crore units of NIFTY at lot 65). */
const OPENING_OI_LOTS = 170_000;

export class Market {
  private readonly rng: Rng;
  /**
   * F&O contracts draw from a stream of their own (seed × token), so listing a contract does not
   * move the cash market's seeded path: runs and tests keep their prices.
   */
  private readonly contractRngs = new Map<number, Rng>();
  private readonly states = new Map<number, MarketState>();
  private readonly byToken = new Map<number, SimInstrument>();

  constructor(readonly instruments: SimInstrument[], seed: number, nowMs: number) {
    this.rng = mulberry32(seed);
    for (const i of instruments) {
      this.byToken.set(i.instrumentToken, i);
      if (isDerivative(i)) this.contractRngs.set(i.instrumentToken, mulberry32((Math.imul(seed, 0x9e3779b1) ^ i.instrumentToken) >>> 0));
    }
    for (const i of instruments) {
      const rng = this.rngOf(i);
      const tick = tickPaiseOf(i);
      // A small opening gap so open != close and the day's change is not always zero.
      const gap = Math.round(i.closePaise * (rng() - 0.5) * 0.01);
      const open = snapToTick(i.closePaise + gap, tick);
      const oi = isDerivative(i) ? OPENING_OI_LOTS * i.lotSize : 0;
      const s: MarketState = {
        lastPaise: open, openPaise: open, highPaise: open, lowPaise: open, closePaise: i.closePaise,
        lastQuantity: 0, volume: 0, turnoverPaise: 0, totalBuyQuantity: 0, totalSellQuantity: 0,
        lastTradeMs: nowMs, bids: [], asks: [], oi, oiDayHigh: oi, oiDayLow: oi,
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
      const tick = tickPaiseOf(i);
      // Up to ~0.05% of price per step, in whole ticks, so prices stay on the instrument's grid.
      const maxTicks = Math.max(1, Math.round((s.lastPaise * 0.0005) / tick));
      const ticks = randInt(this.rngOf(i), -maxTicks, maxTicks);
      this.move(i, s, snapToTick(s.lastPaise + ticks * tick, tick), nowMs);
    }
  }

  /** Forces a last price (tests use it to make resting limit orders cross); snapped to the grid. */
  setPrice(token: number, paise: number, nowMs: number): void {
    const i = this.byToken.get(token);
    const s = this.states.get(token);
    if (!i || !s) throw new Error(`unknown instrument token ${token}`);
    this.move(i, s, snapToTick(paise, tickPaiseOf(i)), nowMs);
  }

  private rngOf(i: SimInstrument): Rng {
    return this.contractRngs.get(i.instrumentToken) ?? this.rng;
  }

  private move(i: SimInstrument, s: MarketState, price: number, nowMs: number): void {
    s.lastPaise = price;
    s.highPaise = Math.max(s.highPaise, price);
    s.lowPaise = Math.min(s.lowPaise, price);
    this.print(i, s, nowMs);
  }

  /**
   * A trade print at the last price plus a fresh book around it (tradables only). F&O
   * quantities are whole lots, as the exchange trades them, and each print opens or closes a
   * few lots of open interest.
   */
  private print(i: SimInstrument, s: MarketState, nowMs: number): void {
    if (!i.tradable) return;
    const rng = this.rngOf(i);
    const tick = tickPaiseOf(i);
    const fno = isDerivative(i);
    const qty = units(rng, i, fno, 1, 500);
    s.lastQuantity = qty;
    s.volume += qty;
    s.turnoverPaise += qty * s.lastPaise;
    s.lastTradeMs = nowMs;
    s.bids = [];
    s.asks = [];
    for (let k = 1; k <= 5; k++) {
      s.bids.push({ pricePaise: Math.max(tick, s.lastPaise - k * tick), quantity: units(rng, i, fno, 50, 3000), orders: randInt(rng, 1, 40) });
      s.asks.push({ pricePaise: s.lastPaise + k * tick, quantity: units(rng, i, fno, 50, 3000), orders: randInt(rng, 1, 40) });
    }
    s.totalBuyQuantity = s.bids.reduce((a, l) => a + l.quantity, 0) * 40;
    s.totalSellQuantity = s.asks.reduce((a, l) => a + l.quantity, 0) * 40;
    if (fno) {
      s.oi = Math.max(0, s.oi + randInt(rng, -qty / i.lotSize, qty / i.lotSize) * i.lotSize);
      s.oiDayHigh = Math.max(s.oiDayHigh, s.oi);
      s.oiDayLow = Math.min(s.oiDayLow, s.oi);
    }
  }
}

/** A seeded quantity in [lo, hi] units; F&O in whole lots. */
function units(rng: Rng, i: SimInstrument, fno: boolean, lo: number, hi: number): number {
  return fno ? randInt(rng, Math.max(1, Math.ceil(lo / 50)), Math.ceil(hi / 50)) * i.lotSize : randInt(rng, lo, hi);
}

export function averagePricePaise(s: MarketState): number {
  return s.volume > 0 ? Math.round(s.turnoverPaise / s.volume) : s.lastPaise;
}

export const toRupees = (paise: number): number => Math.round(paise) / 100;
