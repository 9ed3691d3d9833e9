import type { Venue } from '../actors/messages.ts';

/**
 * How the venues' exact integer units read for a person. Nothing is converted to a float: the
 * integer is split into whole and fractional digits as text.
 *
 * - Kite: prices and money in paise (₹1 = 100), quantities in shares; P&L = paise × shares = paise.
 * - Kalshi: prices in hundredths of a cent ($1 = 10 000), quantities in hundredths of a contract
 *   (1 contract = 100); P&L = price × quantity = millionths of a dollar ($1 = 1 000 000).
 */
const UNITS: Record<Venue, { currency: string; priceDecimals: number; qtyDecimals: number; qtyUnit: string }> = {
  kite: { currency: '₹', priceDecimals: 2, qtyDecimals: 0, qtyUnit: 'shares' },
  kalshi: { currency: '$', priceDecimals: 4, qtyDecimals: 2, qtyUnit: 'contracts' },
};

/** `digits` fractional digits, trailing zeros dropped down to `keep`; exact for any safe integer. */
function decimal(n: number, digits: number, keep: number, group: boolean): string {
  const neg = n < 0;
  const s = String(Math.abs(Math.trunc(n))).padStart(digits + 1, '0');
  let whole = digits ? s.slice(0, -digits) : s;
  let frac = digits ? s.slice(-digits) : '';
  while (frac.length > keep && frac.endsWith('0')) frac = frac.slice(0, -1);
  if (group) whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** A price or an order value in the venue's minor unit: `₹1,234.50`, `$0.55`. */
export function formatPrice(venue: Venue, minor: number): string {
  const u = UNITS[venue];
  const d = decimal(minor, u.priceDecimals, 2, true);
  return d.startsWith('-') ? `-${u.currency}${d.slice(1)}` : `${u.currency}${d}`;
}

/** P&L (price unit × quantity unit): `₹-12.30`, `$1.234567`. */
export function formatPnl(venue: Venue, amount: number): string {
  const u = UNITS[venue];
  const d = decimal(amount, u.priceDecimals + u.qtyDecimals, 2, true);
  return d.startsWith('-') ? `-${u.currency}${d.slice(1)}` : `${u.currency}${d}`;
}

/** A quantity with its unit: `3 shares`, `1.5 contracts`. */
export function formatQty(venue: Venue, qty: number): string {
  const u = UNITS[venue];
  return `${decimal(qty, u.qtyDecimals, 0, false)} ${u.qtyUnit}`;
}

const known = (v: string): v is Venue => v in UNITS;

/** The same for a venue named in a status reply: a venue this build does not know shows the bare integer. */
export const showPrice = (venue: string | undefined, n: number | undefined): string => (n === undefined ? '-' : venue && known(venue) ? formatPrice(venue, Math.round(n)) : String(n));
export const showPnl = (venue: string | undefined, n: number): string => (venue && known(venue) ? formatPnl(venue, n) : String(n));
export const showQty = (venue: string | undefined, n: number): string => (venue && known(venue) ? formatQty(venue, n) : String(n));

/** What the venue's units are, for a table heading. */
export function unitsNote(venues: Iterable<Venue>): string {
  const seen = new Set(venues);
  const parts: string[] = [];
  if (seen.has('kite')) parts.push('Kite in ₹, quantities in shares');
  if (seen.has('kalshi')) parts.push('Kalshi in $, quantities in contracts');
  return parts.join('; ');
}
