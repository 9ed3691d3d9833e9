import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { connectBus } from '../actors/bus.ts';
import { actorLogger } from '../actors/logger.ts';
import { metrics } from '../actors/metrics.ts';
import { seedVenue } from '../actors/metric-series.ts';
import { Teardown } from '../actors/teardown.ts';
import { BrokerActor, type BrokerActorOptions } from './broker-actor.ts';
import { EventLog, ensureEventStream, EVENTS_STREAM_CONFIG } from './event-log.ts';
import { applyMarketRecording } from './market-recording.ts';
import type { RecordingSettings } from '../config/recording.ts';
import { EventLogBudget } from './event-log-budget.ts';
import { EventLogUsage } from './event-log-usage.ts';
import { KillStore } from './kill/kill-store.ts';
import { startKillSwitch, type KillSwitch } from './kill/kill-switch.ts';
import type { FlattenSettings } from '../config/flatten-settings.ts';
import type { Observation } from './kill/triggers.ts';
import { BrokerLease } from './lease.ts';
import { fenceWrites } from './write-fence.ts';
import type { LimitsConfig } from './limiter/limits.ts';
import { SharedLimiter } from './limiter/shared-limiter.ts';
import type { KillTriggers } from '../config/risk-limits.ts';
import type { VenueAdapter } from './venue.ts';

/** What a venue is built with: the broker's clock, log and the one limiter every venue call shares. */
export type VenueContext = {
  clock: Clock;
  log: Logger;
  limiter: SharedLimiter;
  /** Feeds the kill triggers (a failed login, say); dropped when this broker runs no kill switch. */
  observe: (o: Observation) => void;
};

export type StartedVenue = {
  adapter: VenueAdapter;
  close(): Promise<void>;
  /** A built-in exchange this process started: it is empty at every start. */
  simulated?: boolean;
};

/** Builds one venue's adapter (not yet started: the broker starts it); undefined = this venue is not used. */
export type VenueBuilder = (ctx: VenueContext) => Promise<StartedVenue | undefined>;

export type BrokerStartOptions = {
  natsUrl: string;
  /** The broker's NATS user, when the server enforces permissions. */
  credentials?: { user: string; pass: string };
  /** The connection for the kill store, the lease and the event stream; one is opened (and closed at stop) when absent. */
  control?: NatsConnection;
  strategies: BrokerActorOptions['strategies'];
  clock: Clock;
  /** The process's logger: the broker logs as actor `broker`, the kill switch as `kill`. */
  log: Logger;
  /** The shared limiter's buckets (broker/limiter/limits.ts). */
  limits: LimitsConfig;
  venues: readonly VenueBuilder[];
  /** The kill level the broker's gate reads; opened on the control connection when absent. */
  killStore?: KillStore;
  /**
   * The automated kill switch (controller and triggers, broker/kill/kill-switch.ts). Absent: the
   * latched level is still read and followed, and every intent is judged against it.
   */
  killSwitch?: { triggers?: KillTriggers; flatten?: FlattenSettings };
  /** Hold the broker lease (broker/lease.ts) before touching a venue; `onStandby` is told whom it waits for. */
  lease?: { ttlMs?: number; onStandby?: (holder: string) => void };
  /** Size limit of the event log (default 2 GiB); `usage` exports its fill level as metrics. */
  eventLogMaxBytes?: number;
  /** Registry `recording:`: keep the published market data in stream ORCH_MD (absent = off). */
  recording?: RecordingSettings;
  eventLogUsage?: boolean;
  /** Copies JetStream keeps of the event log and the kill and lease buckets (broker/replicas.ts): 1 (default) on one server, 3 on a cluster. */
  replicas?: number;
  /** The broker's event log (tests swap in one that misbehaves). */
  eventLog?: (nc: NatsConnection, log: Logger) => EventLog;
  /** Unset: 'baseline' when every venue is a built-in exchange this process started, else 'kill'. */
  externalAtStart?: BrokerActorOptions['externalAtStart'];
  /** Stop steps go here (run by the caller) instead of into the returned `stop`. */
  teardown?: Teardown;
} & Pick<BrokerActorOptions, 'reconcileIntervalMs' | 'onReconcileMismatch' | 'maxPlaceWaitMs' | 'stopFlushMs' | 'refusalLog'>;

export type StartedBroker = {
  broker: BrokerActor;
  adapters: VenueAdapter[];
  limiter: SharedLimiter;
  killStore: KillStore;
  killSwitch: KillSwitch | undefined;
  /** The broker's own event log (what it writes its decisions and orders to). */
  events: EventLog;
  control: NatsConnection;
  /** Called when this broker loses its lease (it is fenced): whatever else answers for it must stop too. */
  onFenced(fn: (reason: string) => void): void;
  stop(): Promise<void>;
};

/**
 * The broker's composition root: the event stream, the kill store, the shared limiter, the
 * venues, the kill switch, the lease and the broker actor, wired and started in dependency
 * order. The system, a broker-only process and the tests all start a broker through here; stop
 * undoes it in reverse. A failed start undoes what it started and throws.
 */
export async function startBroker(o: BrokerStartOptions): Promise<StartedBroker> {
  const { clock } = o;
  const log = actorLogger(o.log, 'broker');
  const killLog = actorLogger(o.log, 'kill');
  const teardown = o.teardown ?? new Teardown(log);
  try {
    const control = o.control ?? await connectBus({ servers: o.natsUrl, name: 'broker-control', ...(o.credentials ?? {}) });
    if (!o.control) teardown.push(() => control.drain().catch(() => control.close()));
    // Every writer of the log shares one budget: at its limit events are refused, none dropped.
    const budget = new EventLogBudget(o.eventLogMaxBytes ?? EVENTS_STREAM_CONFIG.max_bytes);
    const replicas = o.replicas !== undefined ? { replicas: o.replicas } : {};
    await ensureEventStream(control, { maxBytes: budget.hardLimit, ...replicas });
    await applyMarketRecording(control, o.recording, { log, ...replicas });
    if (o.eventLogUsage) {
      const usage = new EventLogUsage({ nc: control, metrics, clock, log: actorLogger(o.log, 'event-log'), budget });
      await usage.start();
      teardown.push(() => usage.stop());
    }
    const killStore = o.killStore ?? await KillStore.open(control, { clock, log: killLog, role: 'automation', ...replicas });
    // One limiter for every venue call, shared by every strategy.
    const limiter = new SharedLimiter({ clock, limits: o.limits, logger: log });
    // Observations reach the kill triggers once they run (they start after the venues they watch).
    let observe: (ob: Observation) => void = () => undefined;
    const ctx: VenueContext = { clock, log, limiter, observe: (ob) => observe(ob) };
    const venues: StartedVenue[] = [];
    for (const build of o.venues) {
      const v = await build(ctx);
      if (!v) continue;
      teardown.push(() => v.close());
      venues.push(v);
    }
    // With a lease, no venue write leaves unless this broker can vouch for it at that moment: a
    // standby's kill switch writes nothing, nor does a holder woken from a freeze (broker/write-fence.ts).
    let lease: BrokerLease | undefined;
    const adapters = venues.map((v) => o.lease ? fenceWrites(v.adapter, () => (lease ? lease.whyNotSafe() : 'the lease is not held yet')) : v.adapter);
    for (const a of adapters) seedVenue(metrics, a.venue);

    // The kill level is read before the broker subscribes to anything, and followed from then on.
    let killSwitch: KillSwitch | undefined;
    let brokerRef: BrokerActor | undefined;
    if (o.killSwitch) {
      const ks = await startKillSwitch({
        nc: control, store: killStore, adapters, strategies: o.strategies, clock, log: killLog,
        ...(o.killSwitch.triggers ? { killTriggers: o.killSwitch.triggers } : {}),
        ...(o.killSwitch.flatten ? { flatten: o.killSwitch.flatten } : {}),
        events: new EventLog(control, killLog, undefined, { budget }),
        // With a lease, only a ready broker that holds it answers `orch flatten`.
        ...(o.lease ? { requests: { deferred: true, allowed: () => brokerRef?.serving() ?? false } } : {}),
      });
      teardown.push(() => ks.stop());
      observe = (ob) => ks.triggers.observe(ob);
      killSwitch = ks;
    } else {
      const { watch } = await killStore.readThenWatch(() => undefined);
      teardown.push(() => watch.stop());
    }

    // Exactly one broker trades: a second one started by mistake waits here as standby.
    if (o.lease) {
      const l = await BrokerLease.open(control, { clock, log, ...replicas, ...(o.lease.ttlMs !== undefined ? { ttlMs: o.lease.ttlMs } : {}) });
      o.lease.onStandby?.(l.holder);
      await l.acquire();
      teardown.push(() => l.release());
      lease = l;
    }

    let events!: EventLog;
    const broker = new BrokerActor({
      natsUrl: o.natsUrl, adapters, strategies: o.strategies, clock, log, limiter,
      ...(o.credentials ? { natsUser: o.credentials.user, natsPass: o.credentials.pass } : {}),
      ...(lease ? { leaseUnsafe: () => lease.whyNotSafe(), tickEpoch: lease.epoch } : {}),
      // The built-in exchanges start empty each time, so the log's positions are never there: on
      // them alone an unexplained position at start is the baseline; a live account's is a mismatch.
      externalAtStart: o.externalAtStart ?? (venues.length > 0 && venues.every((v) => v.simulated) ? 'baseline' : 'kill'),
      kill: killStore,
      eventLog: (nc) => (events = o.eventLog ? o.eventLog(nc, log) : new EventLog(nc, log, undefined, { budget })),
      ...(killSwitch ? { onMarginException: (strategyId: string, err: Error) => killSwitch.triggers.observe({ type: 'margin_exception', strategyId, message: err.message }) } : {}),
      ...(o.reconcileIntervalMs !== undefined ? { reconcileIntervalMs: o.reconcileIntervalMs } : {}),
      ...(o.onReconcileMismatch ? { onReconcileMismatch: o.onReconcileMismatch } : {}),
      ...(o.maxPlaceWaitMs !== undefined ? { maxPlaceWaitMs: o.maxPlaceWaitMs } : {}),
      ...(o.stopFlushMs !== undefined ? { stopFlushMs: o.stopFlushMs } : {}),
      ...(o.refusalLog ? { refusalLog: o.refusalLog } : {}),
    });
    brokerRef = broker;
    const fencedHandlers: ((reason: string) => void)[] = [];
    lease?.onLost((reason) => {
      broker.fence(reason);
      killSwitch?.stopServing();
      for (const fn of fencedHandlers) fn(reason);
    });
    killSwitch?.triggers.useRecheck(() => {
      broker.reconcileNow('periodic').catch((err: unknown) => log.error({ err }, 'confirming reconciliation failed'));
    });
    // Pushed first: a start that fails half way still closes the bus connection it opened.
    teardown.push(() => broker.stop());
    await broker.start();
    killSwitch?.serveRequests();
    return { broker, adapters, limiter, killStore, killSwitch, events, control, onFenced: (fn) => void fencedHandlers.push(fn), stop: () => teardown.run() };
  } catch (e) {
    if (!o.teardown) await teardown.run();
    throw e;
  }
}
