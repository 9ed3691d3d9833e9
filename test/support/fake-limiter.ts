import type { Clock } from '../../actors/clock.ts';
import type { AcquireOptions, BucketSnapshot, RateLimiter, Settle } from '../../broker/limiter/types.ts';

/**
 * The one stand-in for the shared limiter (the real token-bucket limiter lives in
 * broker/limiter/): lets every call through and remembers what it was asked. Given a Clock it
 * also honours pauses (a 429's `pauseUntil`) by sleeping on that clock, and stamps each pause
 * with the time it was asked.
 */
export class FakeLimiter implements RateLimiter {
  readonly acquired: Array<{ category: string; opts: AcquireOptions | undefined }> = [];
  /** How many granted calls were reported answered. */
  settled = 0;
  readonly pauses: Array<{ category: string; untilMs: number; atMs?: number }> = [];
  private readonly paused = new Map<string, number>();
  constructor(private readonly clock?: Clock) {}

  async acquire(category: string, opts?: AcquireOptions): Promise<Settle> {
    for (;;) {
      if (!this.clock) break;
      const wait = (this.paused.get(category) ?? 0) - this.clock.now();
      if (wait <= 0) break;
      await this.clock.sleep(wait);
    }
    this.acquired.push({ category, opts });
    let done = false;
    return () => {
      if (!done) this.settled++;
      done = true;
    };
  }
  pauseUntil(category: string, untilMs: number): void {
    this.pauses.push(this.clock ? { category, untilMs, atMs: this.clock.now() } : { category, untilMs });
    this.paused.set(category, Math.max(untilMs, this.paused.get(category) ?? 0));
  }
  snapshot(): BucketSnapshot[] {
    return [];
  }
}
