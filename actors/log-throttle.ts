/**
 * Keeps a flood of like lines (a halted strategy sending intents in a loop) from drowning the
 * log: per key, the first `perWindow` lines of each window are logged, the rest are counted and
 * told in one summary line when the window is over. Metrics count every event; only the log is
 * thinned.
 *
 * No timer: a window is closed when the next line of its key arrives, or by `drain()` (at stop),
 * so a thinned key never keeps a process alive.
 */
export type ThrottleVerdict =
  /** Log this line; `suppressedBefore` lines of the key's previous window were not logged. */
  | { log: true; suppressedBefore: number; windowMs: number }
  | { log: false };

export type LogThrottleOptions = { perWindow?: number; windowMs?: number };

type Window = { start: number; count: number; suppressed: number };

export const DEFAULT_LINES_PER_WINDOW = 20;
export const DEFAULT_WINDOW_MS = 60_000; // 1 minute

export class LogThrottle {
  private readonly windows = new Map<string, Window>();
  readonly perWindow: number;
  readonly windowMs: number;

  constructor(o: LogThrottleOptions = {}) {
    this.perWindow = o.perWindow ?? DEFAULT_LINES_PER_WINDOW;
    this.windowMs = o.windowMs ?? DEFAULT_WINDOW_MS;
    if (!Number.isInteger(this.perWindow) || this.perWindow < 1) throw new Error(`perWindow: a positive integer, got ${this.perWindow}`);
    if (!(this.windowMs > 0)) throw new Error(`windowMs: positive, got ${this.windowMs}`);
  }

  /** One more line of `key` at `now`: log it, or count it as suppressed. */
  take(key: string, now: number): ThrottleVerdict {
    const w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      this.windows.set(key, { start: now, count: 1, suppressed: 0 });
      return { log: true, suppressedBefore: w?.suppressed ?? 0, windowMs: this.windowMs };
    }
    w.count++;
    if (w.count <= this.perWindow) return { log: true, suppressedBefore: 0, windowMs: this.windowMs };
    w.suppressed++;
    return { log: false };
  }

  /** Keys with lines not logged yet, and how many; forgets every window. */
  drain(): { key: string; suppressed: number }[] {
    const out = [...this.windows].filter(([, w]) => w.suppressed > 0).map(([key, w]) => ({ key, suppressed: w.suppressed }));
    this.windows.clear();
    return out;
  }
}
