import { complement } from './fixed.ts';

/**
 * A local Kalshi order book in integers. Kalshi books list bids only: YES bids at YES prices
 * and NO bids at NO prices; a NO bid at q is a YES ask at 1 − q.
 */
export type Level = { price: number; size: number };
export type TopOfBook = {
  ticker: string;
  /** best YES bid */
  bid: Level | null;
  /** best YES ask (= 1 − best NO bid) */
  ask: Level | null;
};

export class LocalBook {
  private readonly yes = new Map<number, number>();
  private readonly no = new Map<number, number>();

  constructor(readonly ticker: string) {}

  snapshot(yes: ReadonlyArray<{ price: number; count: number }>, no: ReadonlyArray<{ price: number; count: number }>): void {
    this.yes.clear();
    this.no.clear();
    for (const l of yes) if (l.count > 0) this.yes.set(l.price, l.count);
    for (const l of no) if (l.count > 0) this.no.set(l.price, l.count);
  }

  /** Returns false when the delta would leave a negative size: the book is wrong and must be resynced. */
  apply(side: 'yes' | 'no', price: number, delta: number): boolean {
    const levels = side === 'yes' ? this.yes : this.no;
    const next = (levels.get(price) ?? 0) + delta;
    if (next < 0) return false;
    if (next === 0) levels.delete(price);
    else levels.set(price, next);
    return true;
  }

  top(): TopOfBook {
    const bestYes = best(this.yes);
    const bestNo = best(this.no);
    return {
      ticker: this.ticker,
      bid: bestYes ? { price: bestYes[0], size: bestYes[1] } : null,
      ask: bestNo ? { price: complement(bestNo[0]), size: bestNo[1] } : null,
    };
  }

  /** Levels ascending (Kalshi's order), for inspection. */
  levels(): { yes: Level[]; no: Level[] } {
    const list = (m: Map<number, number>) => [...m.entries()].sort((a, b) => a[0] - b[0]).map(([price, size]) => ({ price, size }));
    return { yes: list(this.yes), no: list(this.no) };
  }
}

function best(m: Map<number, number>): [number, number] | undefined {
  let out: [number, number] | undefined;
  for (const [p, s] of m) if (s > 0 && (!out || p > out[0])) out = [p, s];
  return out;
}

export type SeqVerdict = 'ok' | 'duplicate' | 'gap';

/** Per-sid sequence check: the next message must carry last + 1. */
export function checkSeq(last: number | undefined, seq: number): SeqVerdict {
  if (last === undefined || seq === last + 1) return 'ok';
  return seq <= last ? 'duplicate' : 'gap';
}
