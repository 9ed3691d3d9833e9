/**
 * Kalshi sends money as dollar strings with up to 6 decimals ("0.5600", `fee_cost: "0.005612"`)
 * and quantities as two-decimal strings ("10.00") (docs/venues/kalshi.md, "Fixed point").
 * Binary floats cannot hold 0.1 exactly, so every value is parsed straight from its digits into
 * an integer and formatted back the same way.
 *
 *   price:  integer hundredths of a cent (1 dollar = 10_000), the money unit of the whole
 *           system (ticks, limit prices, P&L). Kalshi's finest price step is $0.001, so a
 *           price with a non-zero 5th or 6th decimal is refused rather than rounded.
 *   micros: integer micro-dollars (1 dollar = 1_000_000) for amounts Kalshi states to 1e-6:
 *           fees, costs, exposure, realized P&L. They live in their own `...Micros` fields so
 *           that no amount is rounded to fit the system's unit; `microsToUnits` converts
 *           where a caller needs that unit and says how it rounds.
 *   count:  integer hundredths of a contract (1 contract = 100)
 */
export const DOLLAR_DECIMALS = 4;
export const MICRO_DECIMALS = 6;
export const COUNT_DECIMALS = 2;
export const ONE_DOLLAR = 10_000;
export const MICROS_PER_DOLLAR = 1_000_000;
/** micro-dollars per hundredth of a cent */
export const MICROS_PER_UNIT = MICROS_PER_DOLLAR / ONE_DOLLAR;
export const ONE_CONTRACT = 100;

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * Parses a plain decimal string into an integer scaled by 10^decimals. Digits beyond
 * `decimals` are accepted only when they are zeros ("0.560000"); anything else would silently
 * lose money, so it throws instead.
 */
export function parseScaled(text: string, decimals: number, what = 'value'): number {
  const m = DECIMAL.exec(text);
  if (!m) throw new RangeError(`${what}: not a plain decimal string: ${JSON.stringify(text)}`);
  const [, minus, whole = '', frac = ''] = m;
  const kept = frac.slice(0, decimals);
  const dropped = frac.slice(decimals);
  if (/[^0]/.test(dropped)) {
    throw new RangeError(`${what}: ${text} has more than ${decimals} decimal places`);
  }
  const digits = BigInt(whole + kept.padEnd(decimals, '0'));
  const signed = minus ? -digits : digits;
  if (signed > BigInt(Number.MAX_SAFE_INTEGER) || signed < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`${what}: ${text} is out of the exact integer range`);
  }
  return Number(signed); // Number(-0n) is 0, so "-0.00" never becomes -0
}

/** Formats an integer scaled by 10^decimals with exactly `decimals` places. */
export function formatScaled(value: number, decimals: number, what = 'value'): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what}: ${value} is not a safe integer`);
  const negative = value < 0;
  const digits = Math.abs(value).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals);
  return `${negative ? '-' : ''}${whole}${decimals > 0 ? '.' + frac : ''}`;
}

/** "0.5600" → 5600 (hundredths of a cent). */
export const parseDollars = (s: string): number => parseScaled(s, DOLLAR_DECIMALS, 'dollars');
/** 5600 → "0.5600". */
export const formatDollars = (units: number): string => formatScaled(units, DOLLAR_DECIMALS, 'dollars');
/** "0.005612" → 5612 (micro-dollars); any 1..6-decimal dollar string is exact. */
export const parseMicros = (s: string): number => parseScaled(s, MICRO_DECIMALS, 'dollars');
/** 5612 → "0.005612". */
export const formatMicros = (micros: number): string => formatScaled(micros, MICRO_DECIMALS, 'dollars');
/** Micro-dollars → hundredths of a cent, rounded half away from zero (for display-grade figures only). */
export function microsToUnits(micros: number): number {
  const q = Math.trunc(micros / MICROS_PER_UNIT);
  const r = micros - q * MICROS_PER_UNIT;
  return Math.abs(r) * 2 >= MICROS_PER_UNIT ? q + Math.sign(r) : q;
}
/** "10.00" → 1000 (hundredths of a contract). */
export const parseCount = (s: string): number => parseScaled(s, COUNT_DECIMALS, 'count');
/** 1000 → "10.00". */
export const formatCount = (hundredths: number): string => formatScaled(hundredths, COUNT_DECIMALS, 'count');

/** A YES bid at p is a NO ask at 1 − p (and vice versa): Kalshi books carry bids only. */
export function complement(priceUnits: number): number {
  return ONE_DOLLAR - priceUnits;
}

/** A tradable YES price is strictly between $0 and $1. */
export function isValidPrice(priceUnits: number): boolean {
  return Number.isSafeInteger(priceUnits) && priceUnits > 0 && priceUnits < ONE_DOLLAR;
}

/** Orders need at least 0.01 contract, in whole hundredths. */
export function isValidCount(hundredths: number): boolean {
  return Number.isSafeInteger(hundredths) && hundredths > 0;
}

/**
 * Cost of `count` contracts at `price`, in hundredths of a cent, rounded up: hundredths of a
 * contract times hundredths of a cent gives 1e-6 dollars, and a buyer never pays less.
 */
export function notional(priceUnits: number, countHundredths: number): number {
  const raw = BigInt(priceUnits) * BigInt(countHundredths);
  const per = BigInt(ONE_CONTRACT);
  const q = raw / per;
  return Number(raw % per === 0n ? q : raw > 0n ? q + 1n : q);
}

export type PriceRange = { start: number; end: number; step: number };

/** Price grid check for a market's `price_ranges` (all in hundredths of a cent). */
export function isOnGrid(priceUnits: number, ranges: readonly PriceRange[]): boolean {
  if (!isValidPrice(priceUnits)) return false;
  if (ranges.length === 0) return true;
  return ranges.some((r) => priceUnits >= r.start && priceUnits <= r.end && r.step > 0 && (priceUnits - r.start) % r.step === 0);
}
