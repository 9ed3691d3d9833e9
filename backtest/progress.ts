/**
 * The progress bar of `orch backtest` on a terminal: how far through the data's time the run is,
 * the data time reached and ticks per second, redrawn in place on one line. Nothing at all when
 * the stream is not a terminal (a pipe, a file, CI): the summary is what a script reads.
 */
import type { Progress } from './runner.ts';

export type ProgressStream = { isTTY?: boolean; columns?: number; write(s: string): unknown };

const WIDTH = 30;

/** One line of the bar, without the carriage return: pure, so a test can read it. */
export function progressLine(p: Progress): string {
  const span = Math.max(1, p.to - p.from);
  const frac = Math.min(1, Math.max(0, (p.ts - p.from) / span));
  const filled = Math.round(frac * WIDTH);
  const rate = p.elapsedMs > 0 ? Math.round((p.ticks / p.elapsedMs) * 1000) : 0;
  const at = new Date(p.ts).toISOString().replace('T', ' ').slice(0, 19);
  return `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${(frac * 100).toFixed(1).padStart(5)}%  data ${at} UTC  ${p.ticks.toLocaleString('en-US')} ticks  ${rate.toLocaleString('en-US')} ticks/s`;
}

/** A callback for runBacktest's onProgress, or undefined when `stream` is not a terminal. */
export function progressBar(stream: ProgressStream): { update(p: Progress): void; done(): void } | undefined {
  if (!stream.isTTY) return undefined;
  let drawn = false;
  return {
    update(p) {
      const line = progressLine(p).slice(0, Math.max(20, (stream.columns ?? 120) - 1));
      stream.write(`\r${line}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\n');
    },
  };
}
