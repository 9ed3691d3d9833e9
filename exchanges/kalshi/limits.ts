import type { Clock } from '../../actors/clock.ts';
import { kalshiTierLimits, type KalshiTier } from '../../broker/kalshi/ratelimit.ts';

/**
 * The exchange's side of the tier limits: a token bucket per key and category holding one
 * second of budget, refilled continuously on the sim Clock. A refused call learns from
 * Retry-After when the bucket will hold enough again.
 */
type Bucket = { tokens: number; at: number };

export class SimRateLimits {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rates: { read: number; write: number };

  constructor(private readonly clock: Clock, tier: KalshiTier) {
    this.rates = kalshiTierLimits(tier);
  }

  /** waitMs 0 = allowed (tokens taken); otherwise ms until `cost` tokens will be available. */
  take(key: string, category: 'read' | 'write', cost: number): { waitMs: number; limit: number; remaining: number } {
    const rate = this.rates[category];
    const id = `${key}:${category}`;
    const now = this.clock.now();
    const b = this.buckets.get(id) ?? { tokens: rate, at: now };
    b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    this.buckets.set(id, b);
    // tolerate float dust from fractional (0.2) costs
    if (b.tokens + 1e-9 >= cost) {
      b.tokens -= cost;
      return { waitMs: 0, limit: rate, remaining: Math.max(0, Math.floor(b.tokens + 1e-9)) };
    }
    return { waitMs: Math.ceil(((cost - b.tokens) / rate) * 1000), limit: rate, remaining: 0 };
  }
}
