import { validateSpec, type CategorySpec } from './window-log.ts';

/**
 * Another category's name: calls asked under this name count in that category's windows and
 * queue (Kite's modify and cancel count under "all other endpoints").
 */
export type CategoryAlias = Readonly<{ countsAs: string }>;

/**
 * The venues' published limits as data. Category names are what adapters pass to
 * `acquire`; every window listed must have room for a call to go out.
 */
export type LimitsConfig = Readonly<Record<string, CategorySpec | CategoryAlias>>;

export function isAlias(spec: CategorySpec | CategoryAlias): spec is CategoryAlias {
  return 'countsAs' in spec;
}

/** The category whose windows a name counts in (itself, or what its alias points to). */
export function resolveCategory(limits: LimitsConfig, name: string): { name: string; spec: CategorySpec } | undefined {
  const spec = limits[name];
  if (!spec) return undefined;
  if (!isAlias(spec)) return { name, spec };
  const target = limits[spec.countsAs];
  return target && !isAlias(target) ? { name: spec.countsAs, spec: target } : undefined;
}

const SECOND = 1000;
const MINUTE = 60 * 1000;
const DAY = 24 * 60 * MINUTE;
/** IST is UTC+05:30: its days start at 18:30 UTC. */
const IST_DAY_OFFSET_MS = -(5 * 60 + 30) * MINUTE;

export type LimitOptions = {
  /**
   * Milliseconds added to every window. The venue counts arrivals, we count departures; if
   * network latency varies by more than the gap we leave, two calls one window apart here can
   * land in one venue second. 0 uses the full rate; 20-50 trades 2-5 % of it for margin.
   */
  guardMs?: number;
};

function win(limit: number, windowMs: number, opts: LimitOptions): CategorySpec['windows'][number] {
  return Object.freeze({ limit, windowMs: windowMs + (opts.guardMs ?? 0) });
}

function freeze(config: Record<string, CategorySpec | CategoryAlias>): LimitsConfig {
  for (const [name, spec] of Object.entries(config)) {
    if (isAlias(spec)) {
      const target = config[spec.countsAs];
      if (!target || isAlias(target)) throw new RangeError(`limits.${name}.countsAs must name a category with windows, got ${spec.countsAs}`);
    } else {
      validateSpec(name, spec);
      Object.freeze(spec.windows);
    }
    Object.freeze(spec);
  }
  return Object.freeze(config);
}

/**
 * Kite's figures (docs/venues/kite.md, "Rate limits"). Each is configurable; the defaults are
 * the strictest documented ones.
 */
export type KiteLimitFigures = {
  /** Order placements per second (strict, per user). Default 10. */
  ordersPerSecond: number;
  /** Order placements per minute. Default 400. */
  ordersPerMinute: number;
  /** Order placements per day (IST calendar day). Default 5,000. */
  ordersPerDay: number;
  /**
   * Modify and cancel per second in a window of their own. Absent (the default): they count
   * under "all other endpoints" with the reads, as Kite documents them.
   */
  modifyPerSecond?: number;
  /** /quote, /quote/ohlc, /quote/ltp. Default 1. */
  quotePerSecond: number;
  /** Historical candles. Default 3. */
  historicalPerSecond: number;
  /** Every other endpoint. Default 10. */
  otherPerSecond: number;
};

export const KITE_LIMIT_DEFAULTS: Readonly<KiteLimitFigures> = Object.freeze({
  ordersPerSecond: 10,
  ordersPerMinute: 400,
  ordersPerDay: 5_000,
  quotePerSecond: 1,
  historicalPerSecond: 3,
  otherPerSecond: 10,
});

/**
 * Kite Connect v3 as limiter categories: 'kite.orders' (placements: per second, minute and IST
 * day), 'kite.modify' (modify and cancel: an alias of 'kite.other' unless `modifyPerSecond` is
 * set), 'kite.quote', 'kite.historical', 'kite.other'.
 */
export function kiteLimits(opts: LimitOptions & Partial<KiteLimitFigures> = {}): LimitsConfig {
  const f = { ...KITE_LIMIT_DEFAULTS, ...definedOnly(opts) };
  const day: CategorySpec['windows'][number] = Object.freeze({ limit: f.ordersPerDay, windowMs: DAY, calendar: Object.freeze({ offsetMs: IST_DAY_OFFSET_MS }) });
  return freeze({
    'kite.orders': { windows: [win(f.ordersPerSecond, SECOND, opts), win(f.ordersPerMinute, MINUTE, opts), day] },
    'kite.modify': f.modifyPerSecond === undefined ? { countsAs: 'kite.other' } : { windows: [win(f.modifyPerSecond, SECOND, opts)] },
    'kite.quote': { windows: [win(f.quotePerSecond, SECOND, opts)] },
    'kite.historical': { windows: [win(f.historicalPerSecond, SECOND, opts)] },
    'kite.other': { windows: [win(f.otherPerSecond, SECOND, opts)] },
  });
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export const KALSHI_TIERS = ['basic', 'advanced', 'premier', 'paragon', 'prime'] as const;
export type KalshiTier = (typeof KALSHI_TIERS)[number];

/** One of Kalshi's token buckets, as `GET /account/limits` states it (tokens, tokens per second). */
export type KalshiBucket = Readonly<{ refill_rate: number; bucket_capacity: number }>;

/**
 * The fallback when the account's own limits cannot be read (docs/venues/kalshi.md, "Rate
 * limits"): tokens per second by tier, write buckets holding two seconds (Basic one), read
 * buckets one. A request costs 10 tokens by default, so Basic is 20 reads and 10 writes a second.
 */
export const KALSHI_TIER_BUCKETS: Readonly<Record<KalshiTier, Readonly<{ read: KalshiBucket; write: KalshiBucket }>>> = Object.freeze({
  basic: Object.freeze({ read: { refill_rate: 200, bucket_capacity: 200 }, write: { refill_rate: 100, bucket_capacity: 100 } }),
  advanced: Object.freeze({ read: { refill_rate: 300, bucket_capacity: 300 }, write: { refill_rate: 300, bucket_capacity: 600 } }),
  premier: Object.freeze({ read: { refill_rate: 1_000, bucket_capacity: 1_000 }, write: { refill_rate: 1_000, bucket_capacity: 2_000 } }),
  paragon: Object.freeze({ read: { refill_rate: 2_000, bucket_capacity: 2_000 }, write: { refill_rate: 2_000, bucket_capacity: 4_000 } }),
  prime: Object.freeze({ read: { refill_rate: 4_000, bucket_capacity: 4_000 }, write: { refill_rate: 4_000, bucket_capacity: 8_000 } }),
});

/**
 * A Kalshi token bucket as a sliding window: at most `bucket_capacity` tokens in any
 * `bucket_capacity / refill_rate` seconds (rounded up to a whole ms). Whatever passes it also
 * passes the venue's bucket: over any span t it takes at most capacity × ⌈t / window⌉ ≤
 * capacity + rate × t tokens, and a full bucket holds capacity + rate × t over t. Continuous
 * demand still gets the whole rate, and an idle client may spend the whole burst at once.
 */
export function kalshiBucketSpec(b: KalshiBucket, opts: LimitOptions = {}): CategorySpec {
  if (!(b.refill_rate > 0) || !(b.bucket_capacity > 0)) {
    throw new RangeError(`kalshi bucket needs a positive refill_rate and bucket_capacity, got ${JSON.stringify(b)}`);
  }
  const spec = { windows: [win(b.bucket_capacity, Math.ceil((b.bucket_capacity / b.refill_rate) * SECOND), opts)] };
  validateSpec('kalshi', spec);
  return Object.freeze(spec);
}

/** Kalshi 'kalshi.read' / 'kalshi.write' in tokens for a tier: the start-up fallback. */
export function kalshiLimits(tier: KalshiTier, opts: LimitOptions = {}): LimitsConfig {
  const t = KALSHI_TIER_BUCKETS[tier];
  if (!t) throw new RangeError(`kalshi tier must be one of ${KALSHI_TIERS.join(', ')}, got ${String(tier)}`);
  return freeze({
    'kalshi.read': kalshiBucketSpec(t.read, opts),
    'kalshi.write': kalshiBucketSpec(t.write, opts),
  });
}

/** One limiter serves both venues: merge their configs, refusing a category defined twice. */
export function mergeLimits(...configs: LimitsConfig[]): LimitsConfig {
  const out: Record<string, CategorySpec | CategoryAlias> = {};
  for (const c of configs) {
    for (const [name, spec] of Object.entries(c)) {
      if (name in out) throw new RangeError(`limit category ${name} is defined twice`);
      out[name] = spec;
    }
  }
  return freeze(out);
}
