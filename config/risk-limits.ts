import { z } from 'zod';

/**
 * Per-strategy pre-trade limits, from YAML. Money is in the venue's minor unit (paise for
 * Kite, hundredths of a cent for Kalshi); quantities in the venue's integer unit.
 */
export const RiskLimitsSchema = z.strictObject({
  maxOrderQty: z.number().int().positive(),
  /** qty * price, minor units. */
  maxOrderValue: z.number().int().positive(),
  /** Absolute net position per instrument. */
  maxPosition: z.number().int().positive(),
  maxOpenOrders: z.number().int().positive(),
  /** Empty or absent = only the strategy's declared instruments. */
  allowedInstruments: z.array(z.string().min(1)).optional(),
  /** Limit price must be within this many basis points of the last price. */
  priceBandBps: z.number().int().positive().default(500),
  ordersPerMinute: z.number().int().positive().default(60),
});
export type RiskLimits = z.infer<typeof RiskLimitsSchema>;

/**
 * Kite's `market_protection` on a MARKET order (docs/venues/kite.md "Market protection"): -1
 * lets Kite choose the band, otherwise a percentage above 0 and up to 100. Kite refuses a
 * market order without it (or with 0) since 1 April 2026.
 */
export const AUTO_MARKET_PROTECTION = -1;
export const MarketProtectionSchema = z.union([
  z.literal(AUTO_MARKET_PROTECTION),
  z.number().positive('market protection: -1 (automatic) or a percentage above 0').max(100, 'market protection: at most 100 (%)'),
]);

/** Thresholds for automated kill-switch trips. Absent = that trigger is off. */
export const KillTriggersSchema = z.strictObject({
  /** Realized + unrealized loss for the day, minor units (positive number). */
  dailyLoss: z.number().int().positive().optional(),
  /** Peak-to-trough of equity, minor units. */
  maxDrawdown: z.number().int().positive().optional(),
  /** More intents than this in 10 s = runaway. */
  maxIntentsPer10s: z.number().int().positive().optional(),
  /** Rejected / submitted over the last `rejectWindow` orders. */
  maxRejectRatio: z.number().min(0).max(1).optional(),
  rejectWindow: z.number().int().positive().default(20),
  /** No tick for this long while subscribed = stale. */
  staleDataMs: z.number().int().positive().optional(),
  /** Broker disconnected longer than this. */
  maxDisconnectedMs: z.number().int().positive().optional(),
  /**
   * Consecutive failed re-authentications before HALT ALL. On by default: a broker that
   * cannot log in cannot cancel either, and that must be latched, not retried quietly.
   */
  maxReauthFailures: z.number().int().positive().default(3),
  /**
   * How long a reconciliation mismatch may stay unresolved (no clean reconcile since) before
   * REDUCE ONLY. On by default, 0 = at once: positions we cannot trust must not grow.
   */
  reconcileGraceMs: z.number().int().nonnegative().default(0),
  /**
   * Reconciliation checks that must each find the difference, at least `reconcileRecheckMs`
   * apart, before it counts: a fill in flight between a venue read and the log shows once and
   * is gone on the next look. After a first mismatch another check is run that long later.
   */
  reconcileConfirmChecks: z.number().int().positive().default(2),
  reconcileRecheckMs: z.number().int().positive().default(5_000),
});
export type KillTriggers = z.infer<typeof KillTriggersSchema>;
