import { registry } from '../../actors/metrics.ts';
import { catalogue, type Catalogue } from '../../actors/metric-catalogue.ts';

/**
 * Kalshi rate-limit tiers (PROTOCOLS.md B5, generation 1; generation 2's token budgets divide
 * to the same numbers at 10 tokens per request). Reads and writes are separate buckets.
 */
export const KALSHI_TIERS = ['basic', 'advanced', 'premier', 'prime'] as const;
export type KalshiTier = (typeof KALSHI_TIERS)[number];

export const KALSHI_READ = 'kalshi.read';
export const KALSHI_WRITE = 'kalshi.write';
export type KalshiCategory = typeof KALSHI_READ | typeof KALSHI_WRITE;

const TIER_LIMITS: Readonly<Record<KalshiTier, Readonly<{ read: number; write: number }>>> = Object.freeze({
  basic: Object.freeze({ read: 20, write: 10 }),
  advanced: Object.freeze({ read: 30, write: 30 }),
  premier: Object.freeze({ read: 100, write: 100 }),
  prime: Object.freeze({ read: 400, write: 400 }),
});

/** Requests per second for each bucket, so the shared limiter can be configured from the tier. */
export function kalshiTierLimits(tier: KalshiTier): { read: number; write: number } {
  const limits = TIER_LIMITS[tier];
  if (!limits) throw new RangeError(`kalshi tier: unknown tier ${JSON.stringify(tier)} (expected one of ${KALSHI_TIERS.join(', ')})`);
  return { ...limits };
}

/** Write-bucket cost of one call: batch items are billed one by one, cancels in a batch at 0.2. */
export const BATCH_CANCEL_ITEM_COST = 0.2;
export function writeCost(kind: 'create' | 'cancel' | 'amend' | 'decrease' | 'batch_create' | 'batch_cancel', items = 1): number {
  switch (kind) {
    case 'batch_create':
      return items;
    case 'batch_cancel':
      // 5 cancels = 1 token; round so 0.2 * 3 does not become 0.6000000000000001
      return Math.round(items * BATCH_CANCEL_ITEM_COST * 1000) / 1000;
    default:
      return 1;
  }
}

/** Share of the budget in use above which we warn: the limiter should never let it get this close. */
export const HEADROOM_WARN_RATIO = 0.8;

export type RateLimitHeaders = { limit: number; remaining: number; resetMs?: number };

/** Kalshi does not document X-RateLimit-* headers; read them only when they are there. */
export function readRateLimitHeaders(headers: Headers): RateLimitHeaders | undefined {
  const limit = Number(headers.get('x-ratelimit-limit'));
  const remaining = Number(headers.get('x-ratelimit-remaining'));
  if (!headers.has('x-ratelimit-limit') || !headers.has('x-ratelimit-remaining')) return undefined;
  if (!Number.isFinite(limit) || !Number.isFinite(remaining) || limit <= 0) return undefined;
  const out: RateLimitHeaders = { limit, remaining };
  const reset = Number(headers.get('x-ratelimit-reset'));
  if (headers.has('x-ratelimit-reset') && Number.isFinite(reset)) out.resetMs = reset * 1000;
  return out;
}

export function overHeadroom(h: RateLimitHeaders): boolean {
  return (h.limit - h.remaining) / h.limit > HEADROOM_WARN_RATIO;
}

/**
 * Retry-After is either delta-seconds or an HTTP date. Returns ms from `nowMs`, or undefined
 * when absent or unparseable (the caller then backs off with full jitter).
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export const headroomWarnings = () => catalogue(registry).ratelimitHeadroomWarningsTotal;
/** Metrics that the shared catalogue defines (wsReconnectsTotal, kalshiBookResyncsTotal, venue429Total ...). */
export const metrics = (): Catalogue => catalogue(registry);
