import type { Clock, TimerHandle } from '../actors/clock.ts';

type Timer = { id: number; due: number; fn: () => void; every?: number };

/**
 * The backtest's time: the Clock of actors/clock.ts, moved only by the data. `advanceTo(ts)`
 * sets the time a tick carries and fires, synchronously and in due order (ties by creation),
 * every timer that fell due on the way, so a strategy's `ctx.clock` timers and the risk gate's
 * orders-per-minute window see the data's time, not the wall clock. Unlike TestClock it does
 * not yield to the event loop between timers: nothing in a backtest waits on I/O, and a tick
 * costs a few microseconds.
 */
export class VirtualClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();
  /** Earliest due time among the timers (Infinity when none): most ticks fire nothing. */
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
  pending(): number {
    return this.timers.size;
  }

  /** Moves time to `ms` (never backwards: data out of order keeps the later time), firing what fell due. */
  advanceTo(ms: number): void {
    if (ms <= this.current) return;
    while (this.nextDue <= ms) {
      const t = this.earliest();
      if (!t || t.due > ms) {
        // A cleared timer left nextDue early: learn the real one.
        this.nextDue = t?.due ?? Number.POSITIVE_INFINITY;
        break;
      }
      this.current = t.due;
      if (t.every !== undefined) t.due += t.every;
      else this.timers.delete(t.id);
      this.recompute();
      t.fn();
    }
    this.current = ms;
  }

  private add(t: Timer): TimerHandle {
    this.timers.set(t.id, t);
    if (t.due < this.nextDue) this.nextDue = t.due;
    return { id: t.id };
  }
  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers.values()) if (!best || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    return best;
  }
  private recompute(): void {
    this.nextDue = this.earliest()?.due ?? Number.POSITIVE_INFINITY;
  }
}
