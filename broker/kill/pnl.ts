import type { Side } from '../../actors/messages.ts';

/**
 * Per-strategy P&L from fills, for the daily-loss and drawdown triggers only. FIFO lots keep
 * realized P&L an exact integer (no average-cost division). Pure: fills and prices in, figures
 * out. This is not the event-log projection (broker/projection/ owns that); it is the trigger
 * feed's running view of the fills the broker publishes, and can be swapped for
 * `strategyPnl(projection, ...)` once that exists.
 */
type Lot = { qty: number; price: number }; // qty signed: long > 0, short < 0
type Book = { lots: Map<string, Lot[]>; realized: number };
export type PnlState = ReadonlyMap<string, Book>;
export type PnlFill = { strategyId: string; symbol: string; side: Side; qty: number; price: number };
export type Pnl = { realized: number; unrealized: number };

export function emptyPnl(): Map<string, Book> {
  return new Map();
}

/** Books one fill: closes opposite lots first-in first-out, the rest opens a new lot. */
export function applyFill(state: Map<string, Book>, f: PnlFill): void {
  let book = state.get(f.strategyId);
  if (!book) state.set(f.strategyId, (book = { lots: new Map(), realized: 0 }));
  const lots = book.lots.get(f.symbol) ?? [];
  const sign = f.side === 'BUY' ? 1 : -1;
  let left = f.qty;
  while (left > 0 && lots.length > 0 && Math.sign(lots[0]!.qty) === -sign) {
    const lot = lots[0]!;
    const closed = Math.min(left, Math.abs(lot.qty));
    // A long lot closed by a sell earns (sell - cost); a short lot closed by a buy earns (cost - buy).
    book.realized += (f.price - lot.price) * closed * -sign;
    lot.qty += closed * sign;
    left -= closed;
    if (lot.qty === 0) lots.shift();
  }
  if (left > 0) lots.push({ qty: left * sign, price: f.price });
  book.lots.set(f.symbol, lots);
}

/** Realized, plus open lots marked at the last price (a symbol with no price is marked at cost). */
export function pnlOf(state: PnlState, strategyId: string, lastPrice: (symbol: string) => number | undefined): Pnl {
  const book = state.get(strategyId);
  if (!book) return { realized: 0, unrealized: 0 };
  let unrealized = 0;
  for (const [symbol, lots] of book.lots) {
    const last = lastPrice(symbol);
    if (last === undefined) continue;
    for (const lot of lots) unrealized += (last - lot.price) * lot.qty;
  }
  return { realized: book.realized, unrealized };
}

/** Strategies holding an open lot in `symbol`: the ones a price move re-marks. */
export function holders(state: PnlState, symbol: string): string[] {
  const out: string[] = [];
  for (const [id, book] of state) if ((book.lots.get(symbol)?.length ?? 0) > 0) out.push(id);
  return out;
}
