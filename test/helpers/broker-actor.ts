import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { systemClock } from '../../actors/clock.ts';
import { BrokerActor, type BrokerActorOptions } from '../../broker/broker-actor.ts';
import { EventLog } from '../../broker/event-log.ts';
import { riskLimitGate } from '../../broker/kill/gates.ts';
import type { StrategySpec } from '../../config/registry.ts';

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
};

/**
 * The broker actor as system.ts wires it around one venue adapter, started; a failed start
 * stops it again so the test's teardown has nothing left running.
 */
export async function startBrokerActor(
  adapter: BrokerActorOptions['adapters'][number],
  limiter: NonNullable<BrokerActorOptions['limiter']>,
  o: BrokerActorTestOptions,
): Promise<{ broker: BrokerActor; events: EventLog }> {
  const { log } = o;
  let events!: EventLog;
  const broker = new BrokerActor({
    natsUrl: o.natsUrl, adapters: [adapter], strategies: o.strategies, clock: systemClock, log, limiter,
    gates: [riskLimitGate(systemClock)],
    eventLog: (c) => (events = o.eventLog ? o.eventLog(c, log) : new EventLog(c, log)),
    ...(o.onReconcileMismatch ? { onReconcileMismatch: o.onReconcileMismatch } : {}),
    ...(o.externalAtStart ? { externalAtStart: o.externalAtStart } : {}),
    ...(o.stopFlushMs !== undefined ? { stopFlushMs: o.stopFlushMs } : {}),
    ...(o.maxPlaceWaitMs !== undefined ? { maxPlaceWaitMs: o.maxPlaceWaitMs } : {}),
    ...(o.refusalLog ? { refusalLog: o.refusalLog } : {}),
  });
  try {
    await broker.start();
  } catch (e) {
    await broker.stop().catch(() => undefined);
    throw e;
  }
  return { broker, events };
}

/** After the test: the broker fenced (so nothing more reaches the venue) and stopped, then the exchange, the bus and nats-server. */
export function stopAfter(
  t: { after: (fn: () => Promise<void>) => void },
  parts: { broker: BrokerActor; sim: { close(): Promise<void> }; nc: NatsConnection; nats: { cleanup(): Promise<void> } },
): void {
  t.after(async () => {
    parts.broker.fence('test over');
    await parts.broker.stop().catch(() => undefined);
    await parts.sim.close();
    await parts.nc.close();
    await parts.nats.cleanup();
  });
}
