import { registry } from '../../actors/metrics.ts';
import { catalogue, type Catalogue } from '../../actors/metric-catalogue.ts';
import type { BucketSnapshot } from '../limiter/types.ts';

/**
 * Kalshi rate limits are the account's own token buckets (docs/venues/kalshi.md, "Rate
 * limits"): a Read and a Write bucket whose refill rate and capacity `GET /account/limits`
 * states, and a cost per request (10 tokens unless `GET /account/endpoint_costs` lists the
 * endpoint cheaper: cancels, single-order reads). Batch items are billed one by one. The
 * limiter categories below count tokens; the tier table in broker/limiter/limits.ts is only
 * the fallback when the account cannot be read.
 */
export { KALSHI_TIERS, type KalshiTier } from '../limiter/limits.ts';

export const KALSHI_READ = 'kalshi.read';
export const KALSHI_WRITE = 'kalshi.write';
export type KalshiCategory = typeof KALSHI_READ | typeof KALSHI_WRITE;

export const DEFAULT_TOKEN_COST = 10;
export type EndpointCost = { method: string; path: string; cost: number };

/**
 * Used until the account's own list is read: the cheaper endpoints Kalshi documents. Paths are
 * route templates as `GET /account/endpoint_costs` gives them, relative to /trade-api/v2.
 */
export const FALLBACK_ENDPOINT_COSTS: readonly EndpointCost[] = Object.freeze([
  { method: 'DELETE', path: '/portfolio/events/orders/{order_id}', cost: 2 },
  { method: 'DELETE', path: '/portfolio/events/orders/batched', cost: 2 },
  { method: 'GET', path: '/portfolio/orders/{order_id}', cost: 2 },
]);

/** Tokens per request, by method and route: what the account was told, or the fallback. */
export class KalshiCosts {
  private defaultCost = DEFAULT_TOKEN_COST;
  private routes: Array<EndpointCost & { re: RegExp; literal: boolean }> = [];

  constructor(costs: readonly EndpointCost[] = FALLBACK_ENDPOINT_COSTS, defaultCost = DEFAULT_TOKEN_COST) {
    this.set(costs, defaultCost);
  }

  set(costs: readonly EndpointCost[], defaultCost: number): void {
    if (!(defaultCost > 0)) throw new RangeError(`kalshi default token cost must be positive, got ${defaultCost}`);
    this.defaultCost = defaultCost;
    this.routes = costs.map((c) => ({
      ...c, method: c.method.toUpperCase(), literal: !c.path.includes('{'),
      re: new RegExp(`^${c.path.replace(/\/$/, '').replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
    }));
  }

  /** Tokens for one call of `method` on `path` (a concrete path, query excluded), times `items` for a batch. */
  of(method: string, path: string, items = 1): number {
    const m = method.toUpperCase();
    const hits = this.routes.filter((r) => r.method === m && r.re.test(path));
    // A literal route (".../batched") wins over a template that also matches it ("{order_id}").
    const hit = hits.find((r) => r.literal) ?? hits[0];
    return (hit ? hit.cost : this.defaultCost) * items;
  }
}

/** Share of a bucket in use above which we warn: the limiter should never let it get this close for long. */
export const HEADROOM_WARN_RATIO = 0.8;

/**
 * Kalshi sends no rate-limit headers, so headroom comes from the limiter's own accounting:
 * true when more than 80% of the category's capacity is spent.
 */
export function overHeadroom(b: Pick<BucketSnapshot, 'tokens' | 'capacity'>): boolean {
  return b.capacity > 0 && (b.capacity - b.tokens) / b.capacity > HEADROOM_WARN_RATIO;
}

/**
 * Retry-After is either delta-seconds or an HTTP date. Returns ms from `nowMs`, or undefined
 * when absent or unparseable (the caller then backs off with full jitter). Kalshi's 429 has
 * none today; it is honoured if it ever comes.
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
