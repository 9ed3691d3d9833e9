export { eventually } from './wait.ts';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../actors/logger.ts';

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
