import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { startBrokerActor, type BrokerActorTestOptions, type TestBroker } from './broker-actor.ts';
import type { BrokerActorOptions } from '../../broker/broker-actor.ts';
import type { EventLog } from '../../broker/event-log.ts';
import { kalshiLimits } from '../../broker/limiter/limits.ts';
import { KalshiVenue } from '../../broker/kalshi/index.ts';
import { KalshiAdapter, kalshiPort } from '../../broker/kalshi/adapter.ts';
import type { KalshiSim } from '../../exchanges/kalshi/index.ts';
import type { StrategySpec } from '../../config/registry.ts';

export type InProcessKalshiBroker = TestBroker<KalshiAdapter> & { venue: KalshiVenue };
export { crashBroker } from './broker-actor.ts';

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
  /** The adapter's REST poll of resting orders (default 200 ms); long, to show what the pushes alone do. */
  pollIntervalMs?: number;
  /** The automated kill switch with these triggers. */
  killSwitch?: BrokerActorTestOptions['killSwitch'];
}): Promise<InProcessKalshiBroker> {
  const { sim } = o;
  let venue!: KalshiVenue;
  const started = await startBrokerActor(kalshiLimits('premier'), ({ clock, log, limiter }) => {
    venue = new KalshiVenue({
      restUrl: o.urls?.rest ?? sim.restUrl, wsUrl: o.urls?.ws ?? sim.wsUrl, keyId: sim.keyId, privateKey: { path: sim.privateKeyPath },
      limiter, logger: log, clock, requestTimeoutMs: o.requestTimeoutMs ?? 1_000,
    });
    return new KalshiAdapter({ port: kalshiPort(venue), clock, log, pollIntervalMs: o.pollIntervalMs ?? 200 });
  }, o);
  return { ...started, venue };
}

