import type { PlaceIntent, Side, Venue } from '../../actors/messages.ts';
import type { VenuePosition } from '../venue.ts';
import type { FlattenSettings } from '../../config/flatten-settings.ts';

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

/**
 * Kalshi takes limit orders only, priced 1 to 99 cents (https://docs.kalshi.com/fix/order-entry,
 * "OrdType 2 = Limit", "Price per contract in cents (1-99)"):
 * a closing order is a limit at the worst price allowed, so it takes every level on the book and
 * rests at that price for the rest. Hundredths of a cent, like every Kalshi price here.
 */
export const KALSHI_WORST_PRICE: Record<Side, number> = { BUY: 9_900, SELL: 100 };

/** One closing order as the venue takes it: Kite a protected MARKET order, Kalshi a marketable limit. */
export function closingIntent(o: FlattenOrder, settings: FlattenSettings, intentId: string, ts: number): { intent: PlaceIntent; marketProtection?: number } {
  const base = { action: 'place' as const, intentId, strategyId: o.strategyId, ts, venue: o.venue, symbol: o.symbol, side: o.side, qty: o.qty, reduceOnly: true };
  switch (o.venue) {
    case 'kite':
      return { intent: { ...base, orderType: 'MARKET' }, marketProtection: settings.marketProtection };
    case 'kalshi':
      return { intent: { ...base, orderType: 'LIMIT', limitPrice: KALSHI_WORST_PRICE[o.side] } };
    default: {
      const never: never = o.venue;
      return never;
    }
  }
}
