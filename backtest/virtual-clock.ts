import { ManualClock } from '../actors/clock.ts';

/**
 * The backtest's time: the Clock of actors/clock.ts, moved only by the data. `advanceTo(ts)`
 * sets the time a tick carries and fires, synchronously and in due order (ties by creation),
 * every timer that fell due on the way, so a strategy's `ctx.clock` timers and the risk gate's
 * orders-per-minute window see the data's time, not the wall clock. Unlike TestClock it does
 * not yield to the event loop between timers: nothing in a backtest waits on I/O, and a tick
 * costs a few microseconds.
 */
export class VirtualClock extends ManualClock {
  /** Moves time to `ms` (never backwards: data out of order keeps the later time), firing what fell due. */
  advanceTo(ms: number): void {
    if (ms <= this.current) return;
    while (this.fireNext(ms));
    this.current = ms;
  }
}
