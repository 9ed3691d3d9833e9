/**
 * Kite's limits as calendar windows on the exchange Clock (the 2025 retail-algo rules count
 * per calendar second, not sliding; docs/venues/kite.md "Rate limits"): a request over a limit
 * gets a real 429 with Retry-After. Written from Kite's published figures, not from the client.
 */
export type RateClass = 'order_place' | 'order_modify' | 'quote' | 'historical' | 'other';

export type KiteRateLimits = {
  /** Order placements per second, per user. Kite: 10, strict. */
  ordersPerSecond: number;
  /** Order placements per calendar minute. Kite staff 2026: 400. */
  ordersPerMinute: number;
  /** Order placements per IST calendar day. Kite staff 2026: 5,000. */
  ordersPerDay: number;
  /** Modify and cancel in a window of their own; absent = they count under "all other endpoints". */
  modifyPerSecond?: number;
  quotePerSecond: number;
  historicalPerSecond: number;
  otherPerSecond: number;
};

export const KITE_RATE_LIMITS: Readonly<KiteRateLimits> = Object.freeze({
  ordersPerSecond: 10,
  ordersPerMinute: 400,
  ordersPerDay: 5_000,
  quotePerSecond: 1,
  historicalPerSecond: 3,
  otherPerSecond: 10,
});

type Counter = { period: number; count: number };
type Window = { name: string; ms: number; offsetMs: number; limit: number };

const SECOND = 1000;
const MINUTE = 60_000;
const DAY = 86_400_000;
/** Kite's day is IST's (UTC+05:30): it starts at 18:30 UTC. */
const IST_OFFSET_MS = -19_800_000;

export type RateDecision = { ok: true } | { ok: false; retryAfterSec: number };

export class CalendarRateLimiter {
  private readonly counters = new Map<string, Counter>();
  private readonly limits: KiteRateLimits;

  constructor(limits: Partial<KiteRateLimits> = {}) {
    this.limits = { ...KITE_RATE_LIMITS, ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) };
  }

  /** The windows a class counts in, under the bucket name they share. */
  private windowsOf(cls: RateClass): { bucket: string; windows: Window[] } {
    const l = this.limits;
    const perSecond = (limit: number): Window => ({ name: 's', ms: SECOND, offsetMs: 0, limit });
    switch (cls) {
      case 'order_place':
        return { bucket: cls, windows: [
          { name: 'd', ms: DAY, offsetMs: IST_OFFSET_MS, limit: l.ordersPerDay },
          { name: 'm', ms: MINUTE, offsetMs: 0, limit: l.ordersPerMinute },
          perSecond(l.ordersPerSecond),
        ] };
      case 'order_modify':
        return l.modifyPerSecond === undefined ? this.windowsOf('other') : { bucket: cls, windows: [perSecond(l.modifyPerSecond)] };
      case 'quote': return { bucket: cls, windows: [perSecond(l.quotePerSecond)] };
      case 'historical': return { bucket: cls, windows: [perSecond(l.historicalPerSecond)] };
      case 'other': return { bucket: cls, windows: [perSecond(l.otherPerSecond)] };
    }
  }

  /** Counts the request if it is admitted; a refused request does not use up any window. */
  admit(key: string, cls: RateClass, nowMs: number): RateDecision {
    const { bucket, windows } = this.windowsOf(cls);
    const state = windows.map((w) => {
      const period = Math.floor((nowMs - w.offsetMs) / w.ms);
      const id = `${key}|${bucket}|${w.name}`;
      let c = this.counters.get(id);
      if (!c || c.period !== period) this.counters.set(id, (c = { period, count: 0 }));
      return { w, c, period };
    });
    for (const { w, c, period } of state) {
      if (c.count >= w.limit) {
        const endsAt = (period + 1) * w.ms + w.offsetMs;
        return { ok: false, retryAfterSec: Math.max(1, Math.ceil((endsAt - nowMs) / 1000)) };
      }
    }
    for (const { c } of state) c.count++;
    return { ok: true };
  }
}
