/**
 * The contract of the shared rate limiter. Every venue call goes through `acquire` with its
 * endpoint category; the limiter decides when it may go, highest priority first.
 */
export const PRIORITIES = ['kill', 'cancel', 'modify', 'place', 'read'] as const;
/** kill-switch cancels > cancels > modifies > new orders > reads */
export type Priority = (typeof PRIORITIES)[number];

export type AcquireOptions = {
  priority?: Priority;
  /** Tokens this call costs (a Kalshi batch cancel item costs 0.2). Default 1. */
  cost?: number;
  signal?: AbortSignal;
};

export type BucketSnapshot = {
  category: string;
  /** Tokens available now in the tightest window of this category. */
  tokens: number;
  capacity: number;
  queueDepth: number;
  pausedUntil: number | null;
};

/**
 * Called once the venue has answered the call (or the call failed): the call then counts from
 * the answer, not from the send (broker/limiter/README.md, "Arrivals, not departures").
 * Calling it again does nothing; never calling it leaves the call counted from its send.
 */
export type Settle = () => void;

export interface RateLimiter {
  /** Resolves when the call may be sent. Rejects if `signal` aborts first. */
  acquire(category: string, opts?: AcquireOptions): Promise<Settle>;
  /** The venue answered 429: nothing in this category goes out before `untilMs`. */
  pauseUntil(category: string, untilMs: number): void;
  snapshot(): BucketSnapshot[];
  /** Replaces a category's windows (a venue that reports the account's own budget at start). */
  configure?(category: string, spec: import('./window-log.ts').CategorySpec): void;
  /** How long a call asked for now would wait (ms), `ahead` more calls of the same cost going first. */
  estimateWaitMs?(category: string, priority: Priority, o?: { cost?: number; ahead?: number }): number;
}
