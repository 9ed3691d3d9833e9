export { eventually } from '../helpers/wait.ts';
import { Writable } from 'node:stream';
import type { Clock } from '../../actors/clock.ts';
import { createLogger, type Logger } from '../../actors/logger.ts';
import type { AcquireOptions, BucketSnapshot, RateLimiter } from '../../broker/limiter/types.ts';

/** A stand-in for the shared limiter: lets everything through, but honours pauses on the Clock and records calls. */
export class RecordingLimiter implements RateLimiter {
  readonly acquired: Array<{ category: string; opts: AcquireOptions | undefined }> = [];
  readonly pauses: Array<{ category: string; untilMs: number; atMs: number }> = [];
  private readonly paused = new Map<string, number>();
  constructor(private readonly clock: Clock) {}
  async acquire(category: string, opts?: AcquireOptions): Promise<void> {
    for (;;) {
      const until = this.paused.get(category) ?? 0;
      const wait = until - this.clock.now();
      if (wait <= 0) break;
      await this.clock.sleep(wait);
    }
    this.acquired.push({ category, opts });
  }
  pauseUntil(category: string, untilMs: number): void {
    this.pauses.push({ category, untilMs, atMs: this.clock.now() });
    this.paused.set(category, Math.max(untilMs, this.paused.get(category) ?? 0));
  }
  snapshot(): BucketSnapshot[] {
    return [];
  }
}

/** A logger whose lines are kept for assertions (and checked for leaked secrets). */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: createLogger({ name: 'test', level: 'debug', destination }), lines };
}

/**
 * Lets promise chains that go through web streams (fetch Response bodies) run to their next
 * Clock wait; TestClock.advance alone only yields a handful of times.
 */
export async function flush(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export async function advance(clock: { advance(ms: number): Promise<void> }, ms: number, stepMs = ms): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    await flush();
    await clock.advance(Math.min(stepMs, ms - done));
  }
  await flush();
}
