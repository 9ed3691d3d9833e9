import { z } from 'zod';
import { AUTO_MARKET_PROTECTION, MarketProtectionSchema } from './risk-limits.ts';

/**
 * How a flatten closes and follows (registry `flatten:`). A closing order may rest unfilled (a
 * Kite market order clipped by its protection band rests as a limit at the band edge; a Kalshi
 * limit meets an empty book): each is followed for `followMs`, then what is left is cancelled
 * and placed again at the new price, at most `maxReprices` times, before the operator is alerted.
 */
export const FlattenSettingsSchema = z.strictObject({
  /** Kite: `market_protection` of the closing MARKET orders (-1 = Kite's automatic band). */
  marketProtection: MarketProtectionSchema.default(AUTO_MARKET_PROTECTION),
  followMs: z.number().int().positive().default(5_000),
  maxReprices: z.number().int().nonnegative().default(3),
});
export type FlattenSettings = z.infer<typeof FlattenSettingsSchema>;
