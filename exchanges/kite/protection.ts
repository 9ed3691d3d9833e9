/**
 * Market protection (Kite since 1 April 2026; docs/venues/kite.md "Market protection"): a MARKET
 * or SL-M order must carry `market_protection`, a percentage (> 0, up to 100) or -1 for Kite's
 * automatic band. Kite turns the order into a limit at the band edge: what the book offers within
 * the band fills, the rest rests at the edge (partly filled or not at all), never beyond it.
 */
import { inputError } from './errors.ts';
import type { DepthLevel } from './market.ts';
import type { OrderType, Side } from './order-wire.ts';

export const NO_PROTECTION_MESSAGE = 'Market orders without market protection are not allowed via API. Please set market protection or use a Limit order.';

/**
 * The band the simulator uses for -1. Kite chooses the automatic percentage itself and does not
 * publish it per instrument; 2% is this exchange's stand-in, not Kite's figure.
 */
export const AUTO_PROTECTION_PCT = 2;

export const needsProtection = (t: OrderType) => t === 'MARKET' || t === 'SL-M';

const DECIMAL = /^-?(\d+\.?\d*|\.\d+)$/;

/** The form field as sent (a string, or absent). Kite's decoder refuses anything but a decimal. */
export function parseProtection(raw: unknown): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const s = String(raw).trim();
  if (!DECIMAL.test(s)) throw inputError(`failed to decode market_protection: strconv.ParseFloat: parsing "${s}": invalid syntax, expected decimal`);
  const v = Number(s);
  if (v !== -1 && (v < 0 || v > 100)) throw inputError('Invalid `market_protection`: must be -1 (automatic) or a percentage between 0 and 100.');
  return v;
}

/** A MARKET or SL-M order without protection (absent or 0) is refused before it exists. */
export function requireProtection(orderType: OrderType, protection: number | undefined): void {
  if (needsProtection(orderType) && (protection === undefined || protection === 0)) throw inputError(NO_PROTECTION_MESSAGE);
}

/**
 * The limit a protected market order becomes: the reference price moved by the band, rounded
 * inward onto the tick grid (a BUY never pays above the band, a SELL never sells below it).
 */
export function bandEdgePaise(side: Side, refPaise: number, protection: number, tickPaise: number): number {
  const pct = protection === -1 ? AUTO_PROTECTION_PCT : protection;
  const hundredths = Math.round(pct * 100); // of a percent: integer arithmetic from here on
  if (side === 'BUY') return Math.floor((refPaise * (10_000 + hundredths)) / 10_000 / tickPaise) * tickPaise;
  return Math.max(tickPaise, Math.ceil((refPaise * (10_000 - hundredths)) / 10_000 / tickPaise) * tickPaise);
}

/** What the opposite side of the book offers at or inside `limitPaise`; `cap` thins each level (fault). */
export function availableWithin(side: Side, opposite: readonly DepthLevel[], limitPaise: number, cap?: number): number {
  let n = 0;
  for (const l of opposite) {
    const inside = side === 'BUY' ? l.pricePaise <= limitPaise : l.pricePaise >= limitPaise;
    if (inside) n += cap === undefined ? l.quantity : Math.min(cap, l.quantity);
  }
  return n;
}
