import type { Registry } from 'prom-client';
import type { Clock, TimerHandle } from '../../actors/clock.ts';
import type { Logger } from '../../actors/logger.ts';
import { registry as sharedRegistry } from '../../actors/metrics.ts';
import { catalogue, type Catalogue } from '../../actors/metric-catalogue.ts';
import { PRIORITIES, type AcquireOptions, type BucketSnapshot, type Priority, type RateLimiter, type Settle } from './types.ts';
import { isAlias, type LimitsConfig } from './limits.ts';
import {
  createBucket, maxCostMilli, type CategorySpec, MILLI_PER_TOKEN, pause, resized, settle, take, tightest, timeToDrain, toMilli, validateSpec, type Bucket,
} from './window-log.ts';
import { LimiterClosedError } from '../errors.ts';

export type SharedLimiterOptions = {
  clock: Clock;
  limits: LimitsConfig;
  /** Where the orch_limiter_* metrics live; defaults to the process-wide registry. */
  registry?: Registry;
  logger?: Logger;
};

/** Calls without a priority are reads: an unlabelled call must never delay an order. */
export const DEFAULT_PRIORITY: Priority = 'read';

type Waiter = {
  readonly priority: Priority;
  readonly milli: number;
  readonly enqueuedAt: number;
  readonly resolve: (settle: Settle) => void;
  readonly reject: (err: unknown) => void;
  detach: () => void;
};

type Category = {
  readonly name: string;
  /** replaced whole by `configure` */
  bucket: Bucket;
  maxMilli: number;
  /** One FIFO per priority, indexed like PRIORITIES: a fixed-level priority queue. */
  readonly queues: Waiter[][];
  depth: number;
  timer: TimerHandle | undefined;
  timerDue: number | null;
};

/**
 * The broker actor's one limiter. Per category: strict priority (kill > cancel > modify >
 * place > read), FIFO within a priority, head-of-line blocking so a stream of cheap reads can
 * never starve a waiting order. Timers come from the injected Clock only.
 */
export class SharedLimiter implements RateLimiter {
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly categories = new Map<string, Category>();
  /** Names that count in another category's windows and queue (Kite modify → other). */
  private readonly aliases = new Map<string, Category>();
  private readonly metrics: Catalogue;
  private readonly unhook: (() => void)[] = [];
  private closed = false;

  constructor(opts: SharedLimiterOptions) {
    if (!opts || typeof opts.clock?.now !== 'function') throw new TypeError('options.clock must be a Clock');
    if (!opts.limits || Object.keys(opts.limits).length === 0) throw new TypeError('options.limits must name at least one category');
    this.clock = opts.clock;
    this.logger = opts.logger;
    for (const [name, spec] of Object.entries(opts.limits)) {
      if (isAlias(spec)) continue;
      validateSpec(name, spec);
      const bucket = createBucket(spec);
      this.categories.set(name, {
        name, bucket, maxMilli: maxCostMilli(bucket), queues: PRIORITIES.map(() => []), depth: 0, timer: undefined, timerDue: null,
      });
    }
    for (const [name, spec] of Object.entries(opts.limits)) {
      if (!isAlias(spec)) continue;
      const target = this.categories.get(spec.countsAs);
      if (!target) throw new RangeError(`limits.${name}.countsAs must name a category with windows, got ${spec.countsAs}`);
      this.aliases.set(name, target);
    }
    this.metrics = catalogue(opts.registry ?? sharedRegistry);
    // At 0 from the start, so the first 429 shows in increase() (actors/metric-series.ts).
    for (const name of this.categories.keys()) this.metrics.limiterThrottledTotal.inc({ category: name }, 0);
    const refresh = () => this.refreshGauges();
    for (const g of ['orch_limiter_tokens', 'orch_limiter_capacity', 'orch_limiter_queue_depth']) {
      this.unhook.push(this.metrics.onCollect(g, refresh));
    }
  }

  acquire(category: string, opts: AcquireOptions = {}): Promise<Settle> {
    let cat: Category;
    let milli: number;
    try {
      if (this.closed) throw new LimiterClosedError('limiter is closed');
      cat = this.category(category);
      milli = toMilli(opts.cost ?? 1);
      if (milli > cat.maxMilli) {
        throw new RangeError(`cost ${opts.cost} exceeds the smallest window of ${category} (${cat.maxMilli / MILLI_PER_TOKEN}); it could never be granted`);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const priority = opts.priority ?? DEFAULT_PRIORITY;
    const rank = PRIORITIES.indexOf(priority);
    if (rank < 0) return Promise.reject(new RangeError(`priority must be one of ${PRIORITIES.join(', ')}, got ${priority}`));
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));

    return new Promise<Settle>((resolve, reject) => {
      const w: Waiter = { priority, milli, enqueuedAt: this.clock.now(), resolve, reject, detach: () => {} };
      if (signal) {
        const onAbort = () => this.cancel(cat, w, abortReason(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        w.detach = () => signal.removeEventListener('abort', onAbort);
      }
      cat.queues[rank]!.push(w);
      cat.depth++;
      this.drain(cat);
    });
  }

  /**
   * How long a call of this priority asked for now would wait: everything already queued at
   * its priority or above goes first, then `aheadMilli` more (calls decided but not yet asking),
   * then this one. A broker denies a write that would wait longer than its caller will.
   */
  estimateWaitMs(category: string, priority: Priority, o: { cost?: number; ahead?: number } = {}): number {
    const cat = this.category(category);
    const rank = PRIORITIES.indexOf(priority);
    const milli = toMilli(o.cost ?? 1);
    const costs: number[] = [];
    for (let r = 0; r <= rank; r++) for (const w of cat.queues[r]!) costs.push(w.milli);
    for (let i = 0; i < (o.ahead ?? 0); i++) costs.push(milli);
    costs.push(milli);
    const now = this.clock.now();
    return timeToDrain(cat.bucket, now, costs) - now;
  }

  /**
   * Replaces a category's windows, e.g. with the budget the venue reports for this account at
   * start. What the old windows counted as used is carried into the new ones at `now` (longer
   * than it would have counted: never a burst past the venue), a pause stays, and waiters are
   * served by the new limits.
   */
  configure(category: string, spec: CategorySpec): void {
    const cat = this.category(category);
    validateSpec(category, spec);
    cat.bucket = resized(cat.bucket, spec, this.clock.now());
    cat.maxMilli = maxCostMilli(cat.bucket);
    this.logger?.info({ category, windows: spec.windows }, 'limiter category resized');
    this.drain(cat);
  }

  pauseUntil(category: string, untilMs: number): void {
    const cat = this.category(category);
    if (!Number.isFinite(untilMs)) throw new RangeError(`untilMs must be a finite time, got ${untilMs}`);
    pause(cat.bucket, untilMs);
    this.metrics.limiterThrottledTotal.inc({ category: cat.name });
    this.logger?.warn({ category: cat.name, untilMs, queued: cat.depth }, 'limiter paused after a 429');
    this.drain(cat); // moves the wake-up timer to the end of the pause
  }

  snapshot(): BucketSnapshot[] {
    const now = this.clock.now();
    return [...this.categories.values()].map((cat) => {
      const h = tightest(cat.bucket, now);
      const paused = cat.bucket.pausedUntil;
      return {
        category: cat.name,
        tokens: h.availableMilli / MILLI_PER_TOKEN,
        capacity: h.limitMilli / MILLI_PER_TOKEN,
        queueDepth: cat.depth,
        pausedUntil: paused !== null && paused > now ? paused : null,
      };
    });
  }

  /** Stops every timer, unregisters the metric hooks and rejects whatever still waits. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unhook) u();
    for (const cat of this.categories.values()) {
      this.clock.clearTimeout(cat.timer);
      cat.timer = undefined;
      for (const q of cat.queues) {
        for (const w of q.splice(0)) {
          w.detach();
          w.reject(new LimiterClosedError('limiter is closed'));
        }
      }
      cat.depth = 0;
    }
  }

  private category(name: string): Category {
    const cat = this.categories.get(name) ?? this.aliases.get(name);
    if (!cat) throw new RangeError(`unknown limiter category ${name}; known: ${[...this.categories.keys(), ...this.aliases.keys()].join(', ')}`);
    return cat;
  }

  private head(cat: Category): Waiter[] | undefined {
    return cat.queues.find((q) => q.length > 0);
  }

  /** Grants waiters in priority order until the head does not fit; then sleeps until it will. */
  private drain(cat: Category): void {
    const now = this.clock.now();
    for (;;) {
      const q = this.head(cat);
      if (!q) break;
      const w = q[0]!;
      const r = take(cat.bucket, now, w.milli);
      if (!r.ok) {
        this.wakeAt(cat, r.retryAt);
        return;
      }
      q.shift();
      cat.depth--;
      w.detach();
      this.metrics.limiterWaitSeconds.observe({ category: cat.name }, (now - w.enqueuedAt) / 1000);
      w.resolve(this.settler(cat, r.at, w.milli));
    }
    this.clock.clearTimeout(cat.timer);
    cat.timer = undefined;
    cat.timerDue = null;
  }

  /**
   * Moves a granted call to the time of its answer. Never earlier capacity, so no wake-up is
   * needed: a timer set before fires, finds no room and sets itself later. A bucket replaced
   * by `configure` meanwhile already holds what the old one used at a later time.
   */
  private settler(cat: Category, takenAt: number, milli: number): Settle {
    const bucket = cat.bucket;
    let done = false;
    return () => {
      if (done || this.closed || cat.bucket !== bucket) return;
      done = true;
      settle(bucket, takenAt, this.clock.now(), milli);
    };
  }

  private wakeAt(cat: Category, at: number): void {
    if (cat.timer && cat.timerDue === at) return;
    this.clock.clearTimeout(cat.timer);
    cat.timerDue = at;
    cat.timer = this.clock.setTimeout(() => {
      cat.timer = undefined;
      cat.timerDue = null;
      this.drain(cat);
    }, at - this.clock.now());
  }

  private cancel(cat: Category, w: Waiter, reason: unknown): void {
    const q = cat.queues[PRIORITIES.indexOf(w.priority)]!;
    const i = q.indexOf(w);
    if (i < 0) return; // already granted
    q.splice(i, 1);
    cat.depth--;
    w.reject(reason);
    // The aborted call may have been the head that did not fit; the next one might.
    this.drain(cat);
  }

  private refreshGauges(): void {
    for (const s of this.snapshot()) {
      this.metrics.limiterTokens.set({ category: s.category }, s.tokens);
      this.metrics.limiterCapacity.set({ category: s.category }, s.capacity);
      this.metrics.limiterQueueDepth.set({ category: s.category }, s.queueDepth);
    }
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}
