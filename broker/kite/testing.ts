import type { AcquireOptions, BucketSnapshot, RateLimiter } from '../limiter/types.ts';

/**
 * A limiter that lets everything through at once and remembers what it was asked, for tests
 * of the Kite clients (the real token-bucket limiter lives in broker/limiter/).
 */
export class PassThroughLimiter implements RateLimiter {
  readonly acquired: { category: string; priority: AcquireOptions['priority'] }[] = [];
  readonly pauses: { category: string; untilMs: number }[] = [];

  async acquire(category: string, opts: AcquireOptions = {}): Promise<void> {
    this.acquired.push({ category, priority: opts.priority });
  }
  pauseUntil(category: string, untilMs: number): void {
    this.pauses.push({ category, untilMs });
  }
  snapshot(): BucketSnapshot[] {
    return [];
  }
}
