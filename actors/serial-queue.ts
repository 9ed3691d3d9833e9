/**
 * Runs async jobs one at a time in arrival order. A strategy's callbacks go through one of
 * these so it never sees a tick while it is still handling the previous one.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private depth = 0;

  constructor(private readonly onError: (err: unknown) => void) {}

  push(job: () => void | Promise<void>): void {
    this.depth++;
    this.tail = this.tail
      .then(job)
      .catch(this.onError)
      .finally(() => {
        this.depth--;
      });
  }
  get size(): number {
    return this.depth;
  }
  /** Resolves once everything queued so far has run. */
  drain(): Promise<void> {
    return this.tail;
  }
}

/** What a strategy session runs its callbacks through, one at a time in arrival order. */
export interface JobQueue {
  push(job: () => void | Promise<void>): void;
  /** Resolves once everything queued so far has run. */
  drain(): Promise<void>;
}

/**
 * A queue its owner runs by hand, synchronously as long as the jobs are: a backtest feeds a
 * strategy in-process and wants each tick's callbacks done before the next tick, without a
 * promise per job when the strategy's callbacks return nothing. Same order as SerialQueue: a
 * job that returns a promise holds the rest until it settles, and a job that throws is
 * reported and the next one runs.
 */
export class InlineQueue implements JobQueue {
  private jobs: (() => void | Promise<void>)[] = [];
  private head = 0;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly onError: (err: unknown) => void) {}

  push(job: () => void | Promise<void>): void {
    if (!this.closed) this.jobs.push(job);
  }

  /** Jobs waiting, or one still running. */
  get busy(): boolean {
    return this.running !== undefined || this.head < this.jobs.length;
  }

  /** Nothing queued runs, and nothing pushed later is kept (its owner crashed). */
  close(): void {
    this.closed = true;
    this.jobs = [];
    this.head = 0;
  }

  /**
   * Runs what is queued, and what those jobs queue, to the end. Returns nothing when every job
   * was synchronous; a promise once one returned one (the rest run after it settles).
   */
  run(): Promise<void> | undefined {
    if (this.running) return this.running;
    while (this.head < this.jobs.length) {
      const job = this.jobs[this.head++]!;
      if (this.head === this.jobs.length) {
        this.jobs = [];
        this.head = 0;
      }
      let r: void | Promise<void>;
      try {
        r = job();
      } catch (e) {
        this.onError(e);
        continue;
      }
      if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
        this.running = (r as Promise<void>).then(
          () => this.resume(),
          (e: unknown) => {
            this.onError(e);
            return this.resume();
          },
        );
        return this.running;
      }
    }
    return undefined;
  }

  drain(): Promise<void> {
    return Promise.resolve(this.run());
  }

  private resume(): Promise<void> | undefined {
    this.running = undefined;
    return this.run();
  }
}
