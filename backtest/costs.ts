/**
 * What a fill costs beyond its price, per venue, as an explicit schedule that the backtest
 * configuration can replace (docs/backtest.md, "Costs"). Everything is integer arithmetic in the
 * venue's money unit: paise for Kite, micro-dollars (1e-6 $) for Kalshi.
 */
import { z } from 'zod';
import type { Side } from '../actors/messages.ts';
import type { Venue } from '../actors/messages.ts';

/**
 * Kite (Zerodha) equity charges, https://zerodha.com/charges/ (equity intraday column, as
 * published in 2026). Rates are rupees per crore of turnover (₹1 per crore = 0.00001%), so
 * every published rate is an integer: 0.03% = 3000, 0.025% = 2500, 0.00297% = 297.
 */
export const KiteCostsSchema = z.strictObject({
  /** Brokerage per executed order: this rate, capped at `brokerageCapPaise` (0.03% or ₹20, whichever is lower). */
  brokeragePerCrore: z.number().int().nonnegative().default(3000),
  brokerageCapPaise: z.number().int().nonnegative().default(2000),
  /** Securities transaction tax, on the sell side (intraday 0.025%). */
  sttSellPerCrore: z.number().int().nonnegative().default(2500),
  sttBuyPerCrore: z.number().int().nonnegative().default(0),
  /** NSE transaction charges, both sides (0.00297%). */
  exchangePerCrore: z.number().int().nonnegative().default(297),
  /** SEBI turnover fee, both sides (₹10 per crore). */
  sebiPerCrore: z.number().int().nonnegative().default(10),
  /** Stamp duty, buy side (intraday 0.003% = ₹300 per crore). */
  stampBuyPerCrore: z.number().int().nonnegative().default(300),
  /** GST on brokerage + exchange + SEBI charges, basis points (18%). */
  gstBps: z.number().int().nonnegative().default(1800),
});
export type KiteCosts = z.infer<typeof KiteCostsSchema>;

/**
 * Kalshi's trading fee, https://kalshi.com/docs/kalshi-fee-schedule.pdf: for C contracts at a
 * price of P dollars, `round up(rate × C × P × (1 − P))` to the next cent; taker rate 0.07, maker
 * rate 0 on most markets (0.0175 where Kalshi charges makers). Rates here in basis points.
 */
export const KalshiCostsSchema = z.strictObject({
  takerBps: z.number().int().nonnegative().default(700),
  makerBps: z.number().int().nonnegative().default(0),
});
export type KalshiCosts = z.infer<typeof KalshiCostsSchema>;

export const CostsSchema = z.strictObject({
  kite: KiteCostsSchema.default(KiteCostsSchema.parse({})),
  kalshi: KalshiCostsSchema.default(KalshiCostsSchema.parse({})),
});
export type Costs = z.infer<typeof CostsSchema>;
export const DEFAULT_COSTS: Costs = CostsSchema.parse({});

/** The unit a venue's money (P&L, costs) is counted in by the backtest. */
export const MONEY_UNIT: Record<Venue, string> = { kite: 'paise', kalshi: 'micro-dollars' };

/** Value of `qty` at `price` in the venue's money unit: Kite paise (shares × paise), Kalshi micro-dollars (1e-2 contracts × 1e-4 $). */
export const fillValue = (qty: number, price: number): number => qty * price;

/** A rate per crore of rupees is the same rate per crore of paise: charge = turnover × rate / 1e7. */
const CRORE = 10_000_000n;
/** Rounds a non-negative fraction num/den to the nearest integer, halves up (Zerodha's contract notes show paise). */
const roundHalfUp = (num: bigint, den: bigint): bigint => (num * 2n + den) / (2n * den);
const perCrore = (turnoverPaise: bigint, rate: number): bigint => roundHalfUp(turnoverPaise * BigInt(rate), CRORE);

export type KiteCharge = { brokerage: number; stt: number; exchange: number; sebi: number; stamp: number; gst: number; total: number };

/**
 * The charges of one Kite fill. `brokerageSoFar` is what the same order has already paid: the
 * cap is per executed order, so a partly filled order's fills share it.
 */
export function kiteFillCharges(c: KiteCosts, side: Side, qty: number, pricePaise: number, brokerageSoFar = 0): KiteCharge {
  const turnover = BigInt(qty) * BigInt(pricePaise);
  const brokerage = Math.min(Number(perCrore(turnover, c.brokeragePerCrore)), Math.max(0, c.brokerageCapPaise - brokerageSoFar));
  const stt = Number(perCrore(turnover, side === 'SELL' ? c.sttSellPerCrore : c.sttBuyPerCrore));
  const exchange = Number(perCrore(turnover, c.exchangePerCrore));
  const sebi = Number(perCrore(turnover, c.sebiPerCrore));
  const stamp = side === 'BUY' ? Number(perCrore(turnover, c.stampBuyPerCrore)) : 0;
  const gst = Number(roundHalfUp(BigInt(brokerage + exchange + sebi) * BigInt(c.gstBps), 10_000n));
  return { brokerage, stt, exchange, sebi, stamp, gst, total: brokerage + stt + exchange + sebi + stamp + gst };
}

const CENT_MICROS = 10_000n;

/**
 * Kalshi's fee for one fill in micro-dollars: rate × C × P × (1 − P), rounded up to a whole
 * cent. `count` in hundredths of a contract, `price` in hundredths of a cent (1e-4 $):
 * micro-dollars = bps × count × price × (10000 − price) / 1e8.
 */
export function kalshiFillFee(c: KalshiCosts, count: number, price: number, isTaker: boolean): number {
  const bps = BigInt(isTaker ? c.takerBps : c.makerBps);
  const raw = bps * BigInt(count) * BigInt(price) * BigInt(10_000 - price);
  const den = 100_000_000n * CENT_MICROS;
  const cents = raw / den + (raw % den === 0n ? 0n : 1n);
  return Number(cents * CENT_MICROS);
}
