/**
 * Every timer in the system goes through a Clock so tests can move time instead of sleeping.
 * `SystemClock` is the real one; `TestClock` fires timers in due order when advanced.
 */
export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
}

export class SystemClock implements Clock {
  private nextId = 1;
  private readonly live = new Map<number, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(() => {
      this.live.delete(id);
      fn();
    }, Math.max(0, ms));
    this.live.set(id, t);
    return { id };
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = this.live.get(handle.id);
    if (t) clearTimeout(t);
    this.live.delete(handle.id);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.live.set(id, setInterval(fn, Math.max(1, ms)));
    return { id };
  }
  clearInterval(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = this.live.get(handle.id);
    if (t) clearInterval(t);
    this.live.delete(handle.id);
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }
}

type PendingTimer = { id: number; due: number; fn: () => void; every?: number };

/**
 * A clock moved by hand: the timer table shared by TestClock (tests advance it) and the
 * backtest's VirtualClock (the data advances it). `fireNext(limit)` fires the timer due first
 * at or before `limit` (ties in creation order), after moving the time to its due time; the
 * subclass decides what happens between timers.
 */
export abstract class ManualClock implements Clock {
  protected current: number;
  private nextId = 1;
  private readonly timers = new Map<number, PendingTimer>();
  /** Earliest due time among the timers (Infinity when none): most moves fire nothing. */
  private nextDue = Number.POSITIVE_INFINITY;

  constructor(startMs: number) {
    this.current = startMs;
  }
  now(): number {
    return this.current;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add({ id: this.nextId++, due: this.current + Math.max(0, ms), fn });
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.timers.delete(handle.id);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const every = Math.max(1, ms);
    return this.add({ id: this.nextId++, due: this.current + every, fn, every });
  }
  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle);
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }
  /** Number of timers waiting to fire. */
  pending(): number {
    return this.timers.size;
  }
  /** Fires the first timer due at or before `limit`, at its due time; false when none is. */
  protected fireNext(limit: number): boolean {
    if (this.nextDue > limit) return false;
    const t = this.earliest();
    this.nextDue = t?.due ?? Number.POSITIVE_INFINITY;
    // A cleared timer can leave nextDue early: what is left may not be due yet.
    if (!t || t.due > limit) return false;
    this.current = t.due;
    if (t.every !== undefined) t.due += t.every;
    else this.timers.delete(t.id);
    this.nextDue = this.earliest()?.due ?? Number.POSITIVE_INFINITY;
    t.fn();
    return true;
  }
  private add(t: PendingTimer): TimerHandle {
    this.timers.set(t.id, t);
    if (t.due < this.nextDue) this.nextDue = t.due;
    return { id: t.id };
  }
  private earliest(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.timers.values()) if (!best || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    return best;
  }
}

/** A manual clock for tests: nothing happens until `advance` moves time forward. */
export class TestClock extends ManualClock {
  constructor(startMs = Date.UTC(2026, 10, 23, 4, 0, 0)) {
    super(startMs);
  }
  /**
   * Moves time forward by `ms`, firing every timer that falls due in order, and lets
   * promise continuations run between timers so async code observes each step.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    while (this.fireNext(target)) await flushMicrotasks();
    this.current = target;
    await flushMicrotasks();
  }
  /** Jumps the wall clock without firing timers (e.g. to model a suspended host). */
  set(ms: number): void {
    this.current = ms;
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

export const systemClock: Clock = new SystemClock();
