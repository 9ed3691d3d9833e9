import type { Clock } from '../actors/clock.ts';
import type { Catalogue } from '../actors/metric-catalogue.ts';
import type { Venue } from '../actors/messages.ts';

/**
 * `orch_md_last_tick_age_seconds`, computed at scrape time so it keeps growing while a feed is
 * silent (the stale-data alert reads it). Only venues some strategy subscribes to have the
 * series: a venue nobody listens to is quiet by design. The age counts from the subscription
 * until the first tick, so a feed that never starts still goes stale.
 */
export class TickAge {
  private readonly last = new Map<Venue, number>();
  private readonly unhook: () => void;

  constructor(private readonly clock: Clock, private readonly metrics: Catalogue) {
    this.unhook = metrics.onCollect('orch_md_last_tick_age_seconds', () => this.refresh());
  }

  /** Whether some strategy wants market data from `venue` now. */
  watch(venue: Venue, active: boolean): void {
    if (!active) this.last.delete(venue);
    else if (!this.last.has(venue)) this.last.set(venue, this.clock.now());
  }

  tick(venue: Venue): void {
    if (this.last.has(venue)) this.last.set(venue, this.clock.now());
  }

  stop(): void {
    this.unhook();
    for (const venue of this.last.keys()) this.metrics.mdLastTickAgeSeconds.remove({ venue });
    this.last.clear();
  }

  private refresh(): void {
    const g = this.metrics.mdLastTickAgeSeconds;
    g.reset();
    const now = this.clock.now();
    for (const [venue, at] of this.last) g.set({ venue }, Math.max(0, now - at) / 1000);
  }
}
