import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { systemClock } from '../../actors/clock.ts';
import type { BrokerActor, BrokerActorOptions } from '../../broker/broker-actor.ts';
import type { EventLog } from '../../broker/event-log.ts';
import type { LimitsConfig } from '../../broker/limiter/limits.ts';
import type { SharedLimiter } from '../../broker/limiter/shared-limiter.ts';
import { startBroker, type BrokerStartOptions, type StartedBroker, type VenueContext } from '../../broker/start.ts';
import type { VenueAdapter } from '../../broker/venue.ts';
import type { StrategySpec } from '../../config/registry.ts';
import type { RecordingSettings } from '../../config/recording.ts';

export type BrokerActorTestOptions = {
  natsUrl: string;
  strategies: StrategySpec[];
  log: Logger;
  eventLog?: (nc: NatsConnection, log: Logger) => EventLog;
  onReconcileMismatch?: BrokerActorOptions['onReconcileMismatch'];
  externalAtStart?: BrokerActorOptions['externalAtStart'];
  stopFlushMs?: number;
  maxPlaceWaitMs?: number;
  refusalLog?: BrokerActorOptions['refusalLog'];
  /** The automated kill switch with these triggers (absent: only the latched level is followed). */
  killSwitch?: BrokerStartOptions['killSwitch'];
  recording?: RecordingSettings;
};

/** A broker started in this process: `stop` undoes all of it (the broker, its kill-level watch, its control connection). */
export type TestBroker<A extends VenueAdapter> = { broker: BrokerActor; events: EventLog; adapter: A; limiter: SharedLimiter; control: NatsConnection; killStore: StartedBroker['killStore']; stop(): Promise<void> };

/**
 * A broker around one venue adapter, started through the composition root (broker/start.ts)
 * as the system starts it, without the automated kill switch and the lease. A failed start
 * stops what it started, so the test's teardown has nothing left running.
 */
export async function startBrokerActor<A extends VenueAdapter>(
  limits: LimitsConfig,
  venue: (ctx: VenueContext) => A,
  o: BrokerActorTestOptions,
): Promise<TestBroker<A>> {
  let adapter!: A;
  const started: StartedBroker = await startBroker({
    natsUrl: o.natsUrl, strategies: o.strategies, clock: systemClock, log: o.log, limits,
    // The adapter is stopped by the broker; the test owns the exchange.
    venues: [async (ctx) => ({ adapter: (adapter = venue(ctx)), close: async () => undefined })],
    ...(o.eventLog ? { eventLog: o.eventLog } : {}),
    ...(o.onReconcileMismatch ? { onReconcileMismatch: o.onReconcileMismatch } : {}),
    ...(o.externalAtStart ? { externalAtStart: o.externalAtStart } : {}),
    ...(o.stopFlushMs !== undefined ? { stopFlushMs: o.stopFlushMs } : {}),
    ...(o.maxPlaceWaitMs !== undefined ? { maxPlaceWaitMs: o.maxPlaceWaitMs } : {}),
    ...(o.refusalLog ? { refusalLog: o.refusalLog } : {}),
    ...(o.killSwitch ? { killSwitch: o.killSwitch } : {}),
    ...(o.recording ? { recording: o.recording } : {}),
  });
  return { broker: started.broker, events: started.events, adapter, limiter: started.limiter, control: started.control, killStore: started.killStore, stop: started.stop };
}

/** A crash, as near as one process gets: no flush, no drain; queued events are lost with it. */
export async function crashBroker(r: TestBroker<VenueAdapter>): Promise<void> {
  r.broker.fence('killed by the test');
  r.events.close();
  await r.broker.connection?.close().catch(() => undefined);
  await r.control.close().catch(() => undefined);
  await r.adapter.stop().catch(() => undefined);
}

/** After the test: the broker fenced (so nothing more reaches the venue) and stopped, then the exchange, the bus and nats-server. */
export function stopAfter(
  t: { after: (fn: () => Promise<void>) => void },
  parts: { running: { broker: BrokerActor; stop(): Promise<void> }; sim: { close(): Promise<void> }; nc: NatsConnection; nats: { cleanup(): Promise<void> } },
): void {
  t.after(async () => {
    parts.running.broker.fence('test over');
    await parts.running.stop().catch(() => undefined);
    await parts.sim.close();
    await parts.nc.close();
    await parts.nats.cleanup();
  });
}
