import type { Side } from '../../actors/messages.ts';
import type { Venue } from '../../actors/subjects.ts';
import type { VenuePosition } from '../venue.ts';

/**
 * Level 4's closing orders, planned from what the venue says the account holds (the venue is
 * the truth: a position opened by an earlier process still gets closed). Each closing quantity
 * is booked to the strategies holding that position, so their fills and P&L come home; what no
 * running strategy accounts for is booked to FLATTEN_OWNER. Every order is opposite to the
 * position and never larger than it: reduce-only by construction.
 */
export const FLATTEN_OWNER = 'orch-flatten';

export type StrategyHolding = { strategyId: string; net: number };
export type FlattenOrder = { strategyId: string; venue: Venue; symbol: string; side: Side; qty: number };

export function planFlatten(venue: Venue, positions: readonly VenuePosition[], holdings: (symbol: string) => readonly StrategyHolding[]): FlattenOrder[] {
  const out: FlattenOrder[] = [];
  for (const p of positions) {
    if (p.qty === 0) continue;
    const side: Side = p.qty > 0 ? 'SELL' : 'BUY';
    let left = Math.abs(p.qty);
    for (const h of holdings(p.symbol)) {
      if (left === 0) break;
      if (Math.sign(h.net) !== Math.sign(p.qty)) continue;
      const qty = Math.min(left, Math.abs(h.net));
      out.push({ strategyId: h.strategyId, venue, symbol: p.symbol, side, qty });
      left -= qty;
    }
    if (left > 0) out.push({ strategyId: FLATTEN_OWNER, venue, symbol: p.symbol, side, qty: left });
  }
  return out;
}
