/**
 * The one backoff of the venue connections: exponential with full jitter, a wait drawn
 * uniformly from [0, min(cap, base * 2^attempt)), so clients that failed together (three
 * ticker sockets, many hosts after one outage) do not come back together
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/). Pure: the random
 * source is passed in, so a test fixes it.
 */
export type BackoffPolicy = { baseMs: number; capMs: number };

/** A failed request (5xx, a timeout, a 429 without Retry-After): 250 ms, doubling, at most 30 s. */
export const REQUEST_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 250, capMs: 30_000 });
/** A lost market-data socket: ceilings 1, 2, 4, 8, 16, then 30 s (docs/venues/kite.md, docs/venues/kalshi.md). */
export const RECONNECT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 1_000, capMs: 30_000 });

/** The longest wait of an attempt (0 = the first retry). */
export function backoffCeiling(attempt: number, policy: BackoffPolicy = REQUEST_BACKOFF): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
}

/** Milliseconds to wait before retry `attempt` (0-based): uniform in [0, backoffCeiling(attempt)). */
export function nextBackoff(attempt: number, random: () => number, policy: BackoffPolicy = REQUEST_BACKOFF): number {
  return Math.floor(random() * backoffCeiling(attempt, policy));
}
