import type { Clock } from '../actors/clock.ts';
import { TICK_EPOCH_SPAN, type Tick, type Venue } from '../actors/messages.ts';
import { metrics } from '../actors/metrics.ts';
import { TickAge } from './tick-age.ts';
import type { VenueTick } from './venue.ts';

/**
 * Ticks from the venues to the strategies: each instrument's ticks numbered in order (a gap in
 * `seq` tells a strategy it missed one), fanned out by `publish` (one subject per instrument),
 * and the last one kept for strategies that start later and for the price band.
 */
export class MarketData {
  private readonly seq = new Map<string, number>();
  /** The last tick published per instrument: served to strategies that start later. */
  private readonly last = new Map<string, Tick>();
  private tickAge: TickAge | undefined;

  /** First seq of this broker's ticks, less one: its lease epoch's (actors/messages.ts TICK_EPOCH_SPAN). */
  private seqBase = 0;

  constructor(private readonly o: { clock: Clock; publish: (tick: Tick) => void }) {}

  /** Numbers ticks from here on in `epoch` (the lease's, broker/lease.ts), above every earlier broker's ticks. */
  setEpoch(epoch: number): void {
    this.seqBase = epoch * TICK_EPOCH_SPAN;
    this.seq.clear();
  }

  /** From here on the tick-age series is exported (orch_md_last_tick_age_seconds). */
  start(): void {
    this.tickAge = new TickAge(this.o.clock, metrics);
  }

  stop(): void {
    this.tickAge?.stop();
  }

  /** Whether some strategy wants ticks from `venue` now: only then can its feed go stale. */
  watch(venue: Venue, active: boolean): void {
    this.tickAge?.watch(venue, active);
  }

  onTick(venue: Venue, t: VenueTick): void {
    const key = `${venue}|${t.symbol}`;
    const n = (this.seq.get(key) ?? 0) + 1;
    this.seq.set(key, n);
    const seq = this.seqBase + n;
    const now = this.o.clock.now();
    const tick: Tick = { type: 'tick', venue, seq, recvTs: now, ...t };
    this.last.set(key, tick);
    metrics.ticksTotal.inc({ venue });
    this.tickAge?.tick(venue);
    metrics.tickLagSeconds.observe({ venue }, Math.max(0, now - t.ts) / 1000);
    this.o.publish(tick);
  }

  lastPrice(venue: Venue, symbol: string): number | undefined {
    return this.last.get(`${venue}|${symbol}`)?.last;
  }

  /** The last tick of each symbol that has had one. */
  lastTicks(venue: Venue, symbols: readonly string[]): Tick[] {
    return symbols.flatMap((s) => this.last.get(`${venue}|${s}`) ?? []);
  }
}
