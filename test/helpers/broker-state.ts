import type { NatsConnection } from '@nats-io/transport-node';
import { encodeJson, subscribeParsed } from '../../actors/bus.ts';
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
