/**
 * The limiter's pure core: a bucket is a set of sliding-window logs, one per limit of its
 * category (Kite orders: 10 per 1 s AND 200 per 60 s). No clock, no timers, no I/O: every
 * function is deterministic in its arguments, which is what lets the tests be exhaustive.
 *
 * Why sliding logs and not classic token buckets: the venues count requests per calendar
 * second/minute. A refilling token bucket of capacity C and rate C/s can let almost 2C through
 * inside one calendar second (a full bucket spent at the start, plus the refill), which the
 * venue answers with 429. A sliding log admits at most `limit` in ANY interval of `windowMs`,
 * and a calendar second is such an interval, so no alignment with the venue's clock is needed
 * and a continuous demand still gets exactly `limit` per window (100 % utilisation).
 *
 * Costs are integer milli-tokens so that five 0.2-token Kalshi batch-cancel items are exactly
 * one token; binary fractions would drift.
 */

export const MILLI_PER_TOKEN = 1000;

export type WindowSpec = Readonly<{
  /** Tokens allowed in any interval of `windowMs` (a calendar window: in each period). */
  limit: number;
  windowMs: number;
  /**
   * A calendar window: the count starts again at each period boundary, `offsetMs` after the
   * epoch's (a day in IST: windowMs 86_400_000, offsetMs -19_800_000, i.e. 18:30 UTC).
   * For limits that reset far from trading hours (orders per day), where the venue's own
   * calendar is what matters and a sliding window would carry yesterday's orders into today.
   */
  calendar?: Readonly<{ offsetMs: number }>;
}>;

/** A category with its own windows. */
export type CategorySpec = Readonly<{ windows: readonly WindowSpec[] }>;

type Entry = { at: number; milli: number };

type WindowLog = {
  readonly windowMs: number;
  /** Set for calendar windows: entries expire at the next period boundary. */
  readonly offsetMs: number | undefined;
  readonly limitMilli: number;
  /** Oldest first; `head` skips entries already expired so removal is O(1). */
  entries: Entry[];
  head: number;
  usedMilli: number;
};

export type Bucket = {
  readonly windows: WindowLog[];
  /** Latest time anything was taken; later entries are clamped to it so logs stay sorted. */
  lastAt: number;
  /** After a 429 nothing goes out before this time. */
  pausedUntil: number | null;
};

/** `at`: the time the call was entered in the logs, which `settle` needs to find it again. */
export type TakeResult = { ok: true; at: number } | { ok: false; retryAt: number };

/** Converts a token cost to exact milli-tokens; refuses anything finer than 1/1000. */
export function toMilli(tokens: number): number {
  const milli = Math.round(tokens * MILLI_PER_TOKEN);
  if (!Number.isFinite(tokens) || tokens <= 0 || Math.abs(tokens * MILLI_PER_TOKEN - milli) > 1e-6) {
    throw new RangeError(`cost must be a positive multiple of 0.001 tokens, got ${tokens}`);
  }
  return milli;
}

export function validateSpec(name: string, spec: CategorySpec): void {
  if (spec.windows.length === 0) throw new RangeError(`limits.${name}.windows must not be empty`);
  spec.windows.forEach((w, i) => {
    if (!Number.isInteger(w.windowMs) || w.windowMs <= 0) {
      throw new RangeError(`limits.${name}.windows[${i}].windowMs must be a positive integer, got ${w.windowMs}`);
    }
    toMilli(w.limit); // throws with the offending value
    if (w.calendar && (!Number.isInteger(w.calendar.offsetMs) || Math.abs(w.calendar.offsetMs) >= w.windowMs)) {
      throw new RangeError(`limits.${name}.windows[${i}].calendar.offsetMs must be an integer within one window, got ${w.calendar.offsetMs}`);
    }
  });
}

export function createBucket(spec: CategorySpec): Bucket {
  return {
    windows: spec.windows.map((w) => ({
      windowMs: w.windowMs,
      offsetMs: w.calendar?.offsetMs,
      limitMilli: toMilli(w.limit),
      entries: [],
      head: 0,
      usedMilli: 0,
    })),
    lastAt: Number.NEGATIVE_INFINITY,
    pausedUntil: null,
  };
}

/**
 * When an entry taken at `at` stops counting: `at + windowMs` in a sliding window, the next
 * period boundary in a calendar window. Monotone in `at` either way, so logs stay sorted by it.
 */
function releaseAt(w: WindowLog, at: number): number {
  if (w.offsetMs === undefined) return at + w.windowMs;
  return (Math.floor((at - w.offsetMs) / w.windowMs) + 1) * w.windowMs + w.offsetMs;
}

/** An entry counts until its release time. */
function expire(w: WindowLog, now: number): void {
  while (w.head < w.entries.length) {
    const e = w.entries[w.head]!;
    if (releaseAt(w, e.at) > now) break;
    w.usedMilli -= e.milli;
    w.head++;
  }
  // Compact occasionally so a long-lived bucket does not keep every entry it ever had.
  if (w.head > 64 && w.head * 2 > w.entries.length) {
    w.entries = w.entries.slice(w.head);
    w.head = 0;
  }
}

/** Earliest time at which window `w` has room for `milli` more (assumes `expire(w, now)` ran). */
function windowFreeAt(w: WindowLog, now: number, milli: number): number {
  if (milli > w.limitMilli) return Number.POSITIVE_INFINITY;
  let excess = w.usedMilli + milli - w.limitMilli;
  if (excess <= 0) return now;
  for (let i = w.head; i < w.entries.length; i++) {
    const e = w.entries[i]!;
    excess -= e.milli;
    if (excess <= 0) return releaseAt(w, e.at);
  }
  return Number.POSITIVE_INFINITY; // unreachable while usedMilli equals the sum of entries
}

/** Earliest time (>= now) at which `take(bucket, t, costMilli)` succeeds, pauses included. */
export function nextFreeAt(bucket: Bucket, now: number, costMilli: number): number {
  let at = now;
  if (bucket.pausedUntil !== null && bucket.pausedUntil > at) at = bucket.pausedUntil;
  for (const w of bucket.windows) {
    expire(w, now);
    at = Math.max(at, windowFreeAt(w, now, costMilli));
  }
  return at;
}

/**
 * Takes `costMilli` from every window of the bucket if all have room now; otherwise takes
 * nothing and says when to try again. Mutates `bucket` only on success.
 */
export function take(bucket: Bucket, now: number, costMilli: number): TakeResult {
  const freeAt = nextFreeAt(bucket, now, costMilli);
  if (freeAt > now) return { ok: false, retryAt: freeAt };
  const at = Math.max(now, bucket.lastAt); // a clock stepping back must not unsort the logs
  bucket.lastAt = at;
  // Same-instant takes coalesce: a burst of 400 costs one entry, not 400.
  for (const w of bucket.windows) append(w, at, costMilli);
  return { ok: true, at };
}

/** Appends `costMilli` at `at` (>= every entry), coalescing with an entry at the same instant. */
function append(w: WindowLog, at: number, costMilli: number): void {
  const last = w.entries[w.entries.length - 1];
  if (last && w.head < w.entries.length && last.at === at) last.milli += costMilli;
  else w.entries.push({ at, milli: costMilli });
  w.usedMilli += costMilli;
}

/**
 * The venue answered a call taken at `takenAt`: its entry moves to `now`. The venue counts a
 * call when it arrives, which is somewhere between our send and its answer; calls sent
 * together arrive spread out (one connection, one server loop), so a log of send times lets
 * the next window's first call land in the same venue second as this window's last. A log of
 * answer times cannot: every call it lets go departs after the venue has counted the calls it
 * replaces. It costs the rate the round trip (a 5 ms answer: 0.5 % of a 1 s window).
 * An entry already expired (a call in flight longer than its window) is entered again at `now`,
 * since it may have arrived just now.
 */
export function settle(bucket: Bucket, takenAt: number, now: number, costMilli: number): void {
  const at = Math.max(now, bucket.lastAt);
  bucket.lastAt = at;
  for (const w of bucket.windows) {
    expire(w, now);
    for (let i = w.entries.length - 1; i >= w.head; i--) {
      const e = w.entries[i]!;
      if (e.at < takenAt) break;
      if (e.at === takenAt && e.milli >= costMilli) {
        e.milli -= costMilli;
        w.usedMilli -= costMilli;
        break;
      }
    }
    append(w, at, costMilli);
  }
}

/** An independent copy, for asking "when would these go out?" without touching the real one. */
export function cloneBucket(bucket: Bucket): Bucket {
  return {
    windows: bucket.windows.map((w) => ({ ...w, entries: w.entries.slice(w.head), head: 0 })),
    lastAt: bucket.lastAt,
    pausedUntil: bucket.pausedUntil,
  };
}

/**
 * When the last of `costsMilli` would go out if they were taken in order, each as soon as the
 * bucket allows (>= now). At most `maxSteps` are simulated; past that the answer is +Infinity.
 */
export function timeToDrain(bucket: Bucket, now: number, costsMilli: readonly number[], maxSteps = 2_000): number {
  if (costsMilli.length > maxSteps) return Number.POSITIVE_INFINITY;
  // The usual case on the order path, nothing ahead: ask the bucket itself, no copy.
  if (costsMilli.length === 1) return nextFreeAt(bucket, now, costsMilli[0]!);
  const b = cloneBucket(bucket);
  let t = now;
  for (const c of costsMilli) {
    t = nextFreeAt(b, t, c);
    if (!Number.isFinite(t)) return t;
    take(b, t, c);
  }
  return t;
}

/** Holds the bucket until `untilMs` (never shortens an existing pause). */
export function pause(bucket: Bucket, untilMs: number): void {
  if (bucket.pausedUntil === null || untilMs > bucket.pausedUntil) bucket.pausedUntil = untilMs;
}

export type Headroom = { availableMilli: number; limitMilli: number };

/**
 * The window with the least headroom relative to its size, e.g. the 1 s window right after a
 * burst, the 60 s window after 200 orders. A paused bucket has no headroom at all.
 */
export function tightest(bucket: Bucket, now: number): Headroom {
  let best: Headroom | null = null;
  for (const w of bucket.windows) {
    expire(w, now);
    const h = { availableMilli: Math.max(0, w.limitMilli - w.usedMilli), limitMilli: w.limitMilli };
    if (!best || h.availableMilli * best.limitMilli < best.availableMilli * h.limitMilli) best = h;
  }
  const paused = bucket.pausedUntil !== null && bucket.pausedUntil > now;
  const h = best ?? { availableMilli: 0, limitMilli: 0 };
  return paused ? { availableMilli: 0, limitMilli: h.limitMilli } : h;
}

/** The largest single cost the bucket can ever grant (the smallest window limit). */
export function maxCostMilli(bucket: Bucket): number {
  return Math.min(...bucket.windows.map((w) => w.limitMilli));
}

/**
 * A bucket with new windows that remembers what `from` had spent: the most any of its windows
 * counted as used is recorded in each new window at `now` (held a full new window from now,
 * which is never less cautious than the old log), and a pause carries over.
 */
export function resized(from: Bucket, spec: CategorySpec, now: number): Bucket {
  const to = createBucket(spec);
  to.pausedUntil = from.pausedUntil;
  let used = 0;
  for (const w of from.windows) {
    expire(w, now);
    used = Math.max(used, w.usedMilli);
  }
  if (used > 0) {
    for (const w of to.windows) {
      w.entries.push({ at: now, milli: used });
      w.usedMilli = used;
    }
    to.lastAt = now;
  }
  return to;
}
