import { validateSpec, type CategorySpec } from './window-log.ts';

/**
 * The venues' published limits as data. Category names are what adapters pass to
 * `acquire`; every window listed must have room for a call to go out.
 */
export type LimitsConfig = Readonly<Record<string, CategorySpec>>;

const SECOND = 1000;
const MINUTE = 60 * 1000;

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

function freeze(config: Record<string, CategorySpec>): LimitsConfig {
  for (const [name, spec] of Object.entries(config)) {
    validateSpec(name, spec);
    Object.freeze(spec.windows);
    Object.freeze(spec);
  }
  return Object.freeze(config);
}

/** Kite Connect v3: orders 10/s and 200/min; modify/cancel 25/s; quote 1/s; historical 3/s; the rest 10/s. */
export function kiteLimits(opts: LimitOptions = {}): LimitsConfig {
  return freeze({
    'kite.orders': { windows: [win(10, SECOND, opts), win(200, MINUTE, opts)] },
    'kite.modify': { windows: [win(25, SECOND, opts)] },
    'kite.quote': { windows: [win(1, SECOND, opts)] },
    'kite.historical': { windows: [win(3, SECOND, opts)] },
    'kite.other': { windows: [win(10, SECOND, opts)] },
  });
}

export const KALSHI_TIERS = ['basic', 'advanced', 'premier', 'prime'] as const;
export type KalshiTier = (typeof KALSHI_TIERS)[number];

/** Kalshi's per-second read/write budgets by account tier. */
export const KALSHI_TIER_LIMITS: Readonly<Record<KalshiTier, Readonly<{ read: number; write: number }>>> = Object.freeze({
  basic: Object.freeze({ read: 20, write: 10 }),
  advanced: Object.freeze({ read: 30, write: 30 }),
  premier: Object.freeze({ read: 100, write: 100 }),
  prime: Object.freeze({ read: 400, write: 400 }),
});

/** Kalshi 'kalshi.read' / 'kalshi.write' for a tier. A batch-cancel item costs 0.2 of a write. */
export function kalshiLimits(tier: KalshiTier, opts: LimitOptions = {}): LimitsConfig {
  const t = KALSHI_TIER_LIMITS[tier];
  if (!t) throw new RangeError(`kalshi tier must be one of ${KALSHI_TIERS.join(', ')}, got ${String(tier)}`);
  return freeze({
    'kalshi.read': { windows: [win(t.read, SECOND, opts)] },
    'kalshi.write': { windows: [win(t.write, SECOND, opts)] },
  });
}

/** One limiter serves both venues: merge their configs, refusing a category defined twice. */
export function mergeLimits(...configs: LimitsConfig[]): LimitsConfig {
  const out: Record<string, CategorySpec> = {};
  for (const c of configs) {
    for (const [name, spec] of Object.entries(c)) {
      if (name in out) throw new RangeError(`limit category ${name} is defined twice`);
      out[name] = spec;
    }
  }
  return freeze(out);
}
