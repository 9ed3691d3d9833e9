import type { Clock } from '../../actors/clock.ts';

/**
 * The exchange's side of Kalshi's rate limits as they are now (docs/venues/kalshi.md, "Rate
 * limits"): per key, a Read and a Write token bucket refilled continuously; a request costs
 * 10 tokens unless `GET /account/endpoint_costs` lists it cheaper (a cancel or a single-order
 * read: 2); batch items are billed one by one. Write buckets hold two seconds of budget, Basic
 * one; read buckets one second. A refused call gets a bare 429: Kalshi sends no Retry-After and
 * no X-RateLimit-* headers.
 */
export const SIM_TIERS = ['basic', 'advanced', 'premier', 'paragon', 'prime'] as const;
export type SimTier = (typeof SIM_TIERS)[number];

export type SimBucket = { refill_rate: number; bucket_capacity: number };
export type SimTierLimits = { read: SimBucket; write: SimBucket };

const PER_SECOND: Readonly<Record<SimTier, number>> = { basic: 0, advanced: 300, premier: 1_000, paragon: 2_000, prime: 4_000 };

export function simTierLimits(tier: SimTier): SimTierLimits {
  if (tier === 'basic') return { read: { refill_rate: 200, bucket_capacity: 200 }, write: { refill_rate: 100, bucket_capacity: 100 } };
  const rate = PER_SECOND[tier];
  if (!rate) throw new RangeError(`kalshi sim tier must be one of ${SIM_TIERS.join(', ')}, got ${JSON.stringify(tier)}`);
  return { read: { refill_rate: rate, bucket_capacity: rate }, write: { refill_rate: rate, bucket_capacity: 2 * rate } };
}

export const DEFAULT_COST = 10;
/** The endpoints whose cost differs from the default, as `GET /account/endpoint_costs` lists them. */
export const ENDPOINT_COSTS: ReadonlyArray<{ method: string; path: string; cost: number }> = [
  { method: 'DELETE', path: '/portfolio/events/orders/{order_id}', cost: 2 },
  { method: 'DELETE', path: '/portfolio/events/orders/batched', cost: 2 },
  { method: 'GET', path: '/portfolio/orders/{order_id}', cost: 2 },
];

/** Tokens one item of this call costs. */
export function costOf(method: string, path: string): number {
  for (const e of ENDPOINT_COSTS) {
    if (e.method !== method) continue;
    const re = new RegExp(`^${e.path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    // A literal path (".../batched") wins over a template that would also match it.
    if (re.test(path) && (e.path === path || !ENDPOINT_COSTS.some((x) => x.method === method && x.path === path))) return e.cost;
  }
  return DEFAULT_COST;
}

type Bucket = { tokens: number; at: number };

export class SimRateLimits {
  private readonly buckets = new Map<string, Bucket>();
  readonly limits: SimTierLimits;

  constructor(private readonly clock: Clock, readonly tier: SimTier) {
    this.limits = simTierLimits(tier);
  }

  /** true = allowed (tokens taken); false = refused, nothing taken. */
  take(key: string, category: 'read' | 'write', cost: number): boolean {
    const { refill_rate: rate, bucket_capacity: capacity } = this.limits[category];
    const id = `${key}:${category}`;
    const now = this.clock.now();
    const b = this.buckets.get(id) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    this.buckets.set(id, b);
    if (b.tokens + 1e-9 < cost) return false;
    b.tokens -= cost;
    return true;
  }
}
