import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { systemClock } from '../../actors/clock.ts';
import { startBrokerActor } from './broker-actor.ts';
import { BrokerActor, type BrokerActorOptions } from '../../broker/broker-actor.ts';
import { EventLog } from '../../broker/event-log.ts';
import { SharedLimiter } from '../../broker/limiter/shared-limiter.ts';
import { kalshiLimits } from '../../broker/limiter/limits.ts';
import { KalshiVenue } from '../../broker/kalshi/index.ts';
import { KalshiAdapter, kalshiPort } from '../../broker/kalshi/adapter.ts';
import type { KalshiSim } from '../../exchanges/kalshi/index.ts';
import type { StrategySpec } from '../../config/registry.ts';

export type InProcessKalshiBroker = { broker: BrokerActor; events: EventLog; adapter: KalshiAdapter; venue: KalshiVenue; limiter: SharedLimiter };

/**
 * The broker actor as system.ts wires it for Kalshi, in this process, against the built-in
 * Kalshi exchange, with a short request timeout so a swallowed write resolves within a test.
 */
export async function startKalshiBroker(o: {
  sim: KalshiSim;
  natsUrl: string;
  strategies: StrategySpec[];
  log: Logger;
  onReconcileMismatch?: BrokerActorOptions['onReconcileMismatch'];
  externalAtStart?: BrokerActorOptions['externalAtStart'];
  eventLog?: (nc: NatsConnection, log: Logger) => EventLog;
  requestTimeoutMs?: number;
  /** Where the broker reaches the exchange, when not directly (e.g. through a test's TCP relay). */
  urls?: { rest: string; ws: string };
}): Promise<InProcessKalshiBroker> {
  const { sim, log } = o;
  const clock = systemClock;
  const limiter = new SharedLimiter({ clock, limits: kalshiLimits('premier'), logger: log });
  const venue = new KalshiVenue({
    restUrl: o.urls?.rest ?? sim.restUrl, wsUrl: o.urls?.ws ?? sim.wsUrl, keyId: sim.keyId, privateKey: { path: sim.privateKeyPath },
    limiter, logger: log, clock, requestTimeoutMs: o.requestTimeoutMs ?? 1_000,
  });
  const adapter = new KalshiAdapter({ port: kalshiPort(venue), clock, log, pollIntervalMs: 200 });
  const { broker, events } = await startBrokerActor(adapter, limiter, o);
  return { broker, events, adapter, venue, limiter };
}

/** A crash, as near as one process gets: no flush, no drain; queued events are lost with it. */
export async function crashBroker(r: { broker: BrokerActor; events: EventLog; adapter: { stop(): Promise<void> } }): Promise<void> {
  r.broker.fence('killed by the test');
  r.events.close();
  await r.broker.connection?.close().catch(() => undefined);
  await r.adapter.stop().catch(() => undefined);
}
