import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { clip, type BrokerEvent, type Venue } from '../actors/messages.ts';
import { metrics } from '../actors/metrics.ts';
import type { StrategySpec } from '../config/registry.ts';
import type { BrokerActorOptions } from './broker-options.ts';
import { wantedInstruments } from './instruments.ts';
import { reconcileHost, type OrderPath } from './order-path.ts';
import type { Difference } from './events/schema.ts';
import { ReconcileRunner } from './reconcile/runner.ts';
import type { VenueAdapter } from './venue.ts';

/* The broker's venues, wired: their events in, the instruments they carry, their reconciliation. */

/**
 * A venue adapter's events into the broker: ticks to market data, order reports to the order
 * updates, a lost or restored connection to its gauge and to `orch.broker.events`, and a
 * reconciliation whenever the adapter asks for one (after a reconnect, or on a venue's update).
 */
export function wireVenue(a: VenueAdapter, o: { path: OrderPath; clock: Clock; log: Logger; publishEvent: (e: BrokerEvent) => void; reconcile: (trigger: 'reconnect' | 'venue_update') => void }): void {
  const now = () => o.clock.now();
  a.on('tick', (t) => o.path.marketData.onTick(a.venue, t));
  a.on('order', (u) => o.path.updates.onVenueOrder(a.venue, u));
  a.on('disconnected', (reason) => {
    metrics.wsConnected.set({ venue: a.venue }, 0);
    o.log.warn({ venue: a.venue, reason }, 'venue disconnected');
    o.publishEvent({ type: 'BrokerDisconnected', venue: a.venue, reason: clip(reason), ts: now() });
  });
  a.on('reconnected', () => {
    metrics.wsConnected.set({ venue: a.venue }, 1);
    metrics.wsReconnectsTotal.inc({ venue: a.venue });
    o.publishEvent({ type: 'BrokerReconnected', venue: a.venue, ts: now() });
  });
  a.on('reconcile', (trigger) => o.reconcile(trigger ?? 'reconnect'));
}

/** Subscribes each venue to the union of what the running strategies declare. */
export async function syncInstruments(venues: Iterable<VenueAdapter>, strategies: Iterable<StrategySpec>, path: OrderPath): Promise<void> {
  const specs = [...strategies];
  for (const a of venues) {
    const wanted = wantedInstruments(specs, a.venue);
    await a.setInstruments([...wanted.keys()], wanted);
    path.marketData.watch(a.venue, wanted.size > 0);
  }
}

/** The broker's reconciliation of every venue, each run logged and announced as `Reconciled`. */
export function brokerReconciler(path: OrderPath, venues: Iterable<VenueAdapter>, o: BrokerActorOptions, publishEvent: (e: BrokerEvent, log: boolean) => void, silent: () => string | undefined = () => undefined): ReconcileRunner {
  // A run that ends after this broker lost its lease (frozen mid-run, or its socket woke it with
  // a venue push) compared the venue with a stale log: it raises no kill level and feeds no
  // trigger; the leader's runs decide. Runs are not started then at all (broker-actor.ts).
  const mismatch = o.onReconcileMismatch;
  const host = reconcileHost(path, {
    log: o.log,
    ...(mismatch ? { onMismatch: async (venue: Venue, diffs: Difference[]) => {
      const why = silent();
      if (why === undefined) return mismatch(venue, diffs);
      o.log.warn({ venue, differences: diffs.length, reason: why }, 'reconciliation difference not acted on: this broker does not hold the lease');
    } } : {}),
    announce: (r) => {
      if (silent() !== undefined) return;
      publishEvent({ type: 'Reconciled', venue: r.venue, ok: r.result === 'ok' || r.result === 'resolved', result: r.result, differences: r.differences.length, ts: r.ts }, false);
    },
  });
  return new ReconcileRunner({ host, adapters: [...venues], clock: o.clock, log: o.log, intervalMs: o.reconcileIntervalMs ?? 0, ...(o.externalAtStart ? { externalAtStart: o.externalAtStart } : {}) });
}

/** Starts each venue link; its connection gauge says where it stands after. */
export async function startVenues(venues: Iterable<VenueAdapter>): Promise<void> {
  for (const a of venues) {
    await a.start();
    metrics.wsConnected.set({ venue: a.venue }, a.connected() ? 1 : 0);
  }
}

/**
 * A run for one venue that nobody waits on (a push or a reconnect asked for it); a failed run
 * reports itself. A push before the venue's first run completed asks for nothing: that run (at
 * start, with its own policy for positions outside the strategies) reads everything it shows,
 * and a run of another trigger under way would answer the start's request in its place.
 */
export function reconcileVenue(venues: ReadonlyMap<Venue, VenueAdapter>, reconciler: ReconcileRunner | undefined, venue: Venue, trigger: 'reconnect' | 'venue_update'): void {
  const a = venues.get(venue);
  if (!a || !reconciler) return;
  if (trigger === 'venue_update' && !reconciler.hasPassed(venue)) return;
  void reconciler.run(a, trigger);
}
