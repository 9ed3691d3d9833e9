/**
 * Kite's limits as calendar windows on the sim Clock (the 2025 retail-algo rules count per
 * calendar second, not sliding): a request over the limit gets a real 429 with Retry-After.
 */
export type RateClass = 'order_place' | 'order_modify' | 'quote' | 'historical' | 'other';

export const RATE_LIMITS: Readonly<Record<RateClass, { perSecond: number; perMinute?: number }>> = {
  order_place: { perSecond: 10, perMinute: 200 },
  order_modify: { perSecond: 25 },
  quote: { perSecond: 1 },
  historical: { perSecond: 3 },
  other: { perSecond: 10 },
};

type Window = { second: number; secondCount: number; minute: number; minuteCount: number };

export type RateDecision = { ok: true } | { ok: false; retryAfterSec: number };

export class CalendarRateLimiter {
  private readonly windows = new Map<string, Window>();

  /** Counts the request if it is admitted; a refused request does not use up the window. */
  admit(key: string, cls: RateClass, nowMs: number): RateDecision {
    const limit = RATE_LIMITS[cls];
    const second = Math.floor(nowMs / 1000);
    const minute = Math.floor(nowMs / 60_000);
    const id = `${key}|${cls}`;
    let w = this.windows.get(id);
    if (!w) this.windows.set(id, (w = { second, secondCount: 0, minute, minuteCount: 0 }));
    if (w.second !== second) Object.assign(w, { second, secondCount: 0 });
    if (w.minute !== minute) Object.assign(w, { minute, minuteCount: 0 });
    if (limit.perMinute !== undefined && w.minuteCount >= limit.perMinute) {
      return { ok: false, retryAfterSec: Math.max(1, Math.ceil(((minute + 1) * 60_000 - nowMs) / 1000)) };
    }
    if (w.secondCount >= limit.perSecond) {
      return { ok: false, retryAfterSec: 1 };
    }
    w.secondCount++;
    w.minuteCount++;
    return { ok: true };
  }
}
