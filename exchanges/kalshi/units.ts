/**
 * The built-in exchange's own reading and writing of Kalshi's fixed-point strings, written from
 * the public specification (docs/venues/kalshi.md, "Fixed point"), not shared with the client
 * it checks: a conformance peer that borrowed the client's parser would agree with its bugs.
 *
 * Internal integers:
 *   price:  1e-4 dollars (hundredths of a cent), YES leg. A price is written with 4 decimals.
 *   money:  1e-6 dollars (micro-dollars): fees, costs, exposure, P&L. Written with 6 decimals,
 *           as Kalshi writes `fee_cost: "0.010000"`.
 *   count:  1e-2 contracts. Written with 2 decimals ("10.00").
 */
export const PRICE_PER_DOLLAR = 10_000;
export const MICROS_PER_DOLLAR = 1_000_000;
export const COUNT_PER_CONTRACT = 100;

const PLAIN = /^(-)?(\d+)(?:\.(\d+))?$/;

/** Digits past `places` must be zeros ("0.560000" is 0.56), otherwise the value is refused. */
function parse(text: string, places: number): number {
  const m = PLAIN.exec(text);
  if (!m) throw new RangeError(`not a plain decimal: ${JSON.stringify(text)}`);
  const frac = m[3] ?? '';
  if (/[^0]/.test(frac.slice(places))) throw new RangeError(`${text} has more than ${places} decimal places`);
  const n = Number(BigInt((m[2] ?? '0') + frac.slice(0, places).padEnd(places, '0')));
  if (!Number.isSafeInteger(n)) throw new RangeError(`${text} is too large`);
  return m[1] && n !== 0 ? -n : n;
}

function format(value: number, places: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not a safe integer`);
  const digits = Math.abs(value).toString().padStart(places + 1, '0');
  return `${value < 0 ? '-' : ''}${digits.slice(0, -places)}.${digits.slice(-places)}`;
}

export const parsePrice = (s: string): number => parse(s, 4);
export const formatPrice = (p: number): string => format(p, 4);
export const parseCount = (s: string): number => parse(s, 2);
export const formatCount = (c: number): string => format(c, 2);
export const formatMicros = (m: number): string => format(m, 6);
/** Whole cents (the legacy integer `balance`) as a dollar string with 2 decimals. */
export const formatCents = (c: number): string => format(c, 2);

/** A YES bid at p is a NO ask at $1 − p. */
export const complement = (price: number): number => PRICE_PER_DOLLAR - price;

/** Cost in micro-dollars of `count` (1e-2 contracts) at `price` (1e-4 dollars): exact. */
export const costMicros = (price: number, count: number): number => price * count;
