import type { Side, Venue } from '../../actors/messages.ts';

/**
 * A strategy's holding in one symbol as open lots, first in first out. Lots keep each entry
 * price as an integer, so realized and unrealized P&L are exact integers (price unit ×
 * quantity unit: paise for Kite; for Kalshi, hundredths of a cent × hundredths of a contract).
 */
export type Lot = { qty: number; price: number };
export type PositionState = { strategyId: string; venue: Venue; symbol: string; qty: number; lots: Lot[]; realized: number };

export const positionKey = (strategyId: string, symbol: string) => `${strategyId}|${symbol}`;

export function emptyPosition(strategyId: string, venue: Venue, symbol: string): PositionState {
  return { strategyId, venue, symbol, qty: 0, lots: [], realized: 0 };
}

/** The position after a fill: closes opposite lots oldest first, opens a lot with the rest. */
export function applyFillToPosition(p: PositionState, side: Side, qty: number, price: number): PositionState {
  let left = side === 'BUY' ? qty : -qty;
  const lots = p.lots.map((l) => ({ ...l }));
  let realized = p.realized;
  while (left !== 0 && lots.length > 0 && Math.sign(lots[0]!.qty) !== Math.sign(left)) {
    const lot = lots[0]!;
    const matched = Math.min(Math.abs(left), Math.abs(lot.qty));
    // A long lot closed by a sale earns (exit - entry); a short lot closed by a purchase earns (entry - exit).
    realized += lot.qty > 0 ? (price - lot.price) * matched : (lot.price - price) * matched;
    lot.qty += lot.qty > 0 ? -matched : matched;
    left += left > 0 ? -matched : matched;
    if (lot.qty === 0) lots.shift();
  }
  if (left !== 0) lots.push({ qty: left, price });
  return { ...p, qty: p.qty + (side === 'BUY' ? qty : -qty), lots, realized };
}

export function unrealizedOf(p: PositionState, last: number): number {
  let sum = 0;
  for (const l of p.lots) sum += (last - l.price) * l.qty;
  return sum;
}

/** Average entry price of the open lots, rounded to the unit (display only; P&L uses the lots). */
export function avgEntry(p: PositionState): number | undefined {
  let qty = 0;
  let cost = 0;
  for (const l of p.lots) {
    qty += Math.abs(l.qty);
    cost += Math.abs(l.qty) * l.price;
  }
  return qty === 0 ? undefined : Math.round(cost / qty);
}
