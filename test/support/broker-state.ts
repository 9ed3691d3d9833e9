import type { NatsConnection } from '@nats-io/transport-node';
import { connectBus, encodeJson, subscribeParsed } from '../../actors/bus.ts';
import { startNatsServer, type NatsServerHandle } from './nats-server.ts';
import { subjects } from '../../actors/subjects.ts';
import { StrategyStateReplySchema, StrategyStateRequestSchema, type StrategyStateReply } from '../../actors/messages.ts';

/**
 * Answers starting strategies' position requests as the broker does, for tests that run
 * strategies without one: every strategy holds `state(id)` (default nothing). Returns the ids asked.
 */
export function answerStrategyState(nc: NatsConnection, state: (strategyId: string) => StrategyStateReply = () => ({ positions: [], openOrders: [] })): string[] {
  const asked: string[] = [];
  subscribeParsed(nc, subjects.strategyStateAll(), StrategyStateRequestSchema, (_req, msg) => {
    const id = msg.subject.split('.').pop()!;
    asked.push(id);
    msg.respond(encodeJson(StrategyStateReplySchema, state(id)));
  });
  return asked;
}

/** A fresh nats-server and a test connection to it that answers strategy state as above. */
export async function startBusAnsweringState(): Promise<{ server: NatsServerHandle; nc: NatsConnection }> {
  const server = await startNatsServer();
  const nc = await connectBus({ servers: server.url, name: 'test-feed' });
  answerStrategyState(nc);
  await nc.flush();
  return { server, nc };
}

/** Closes what startBusAnsweringState opened. */
export async function stopBus(b: { server: NatsServerHandle; nc: NatsConnection }): Promise<void> {
  await b.nc.close();
  await b.server.cleanup();
}
