import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { encodeJson, publishJson, subscribeParsed } from '../actors/bus.ts';
import { subjects } from '../actors/subjects.ts';
import {
  IntentSchema, IntentReplySchema, LastTicksRequestSchema, LastTicksReplySchema, StrategyStateRequestSchema, StrategyStateReplySchema,
  clip, MAX_INTENT_BYTES, type Intent,
} from '../actors/messages.ts';
import type { ReconcileReport } from './events/schema.ts';
import type { OrderPath } from './order-path.ts';
import { ReconcileRequestSchema, ReconcileReplySchema } from './reconcile/wire.ts';

/*
 * The broker's NATS side: intents and requests in, announcements out. The actor
 * (broker/broker-actor.ts) decides when each door opens; the parts behind them never see NATS.
 */

/** What the broker's NATS doors need of the actor. */
export type BrokerDoors = {
  nc: NatsConnection;
  log: Logger;
  path: OrderPath;
  /** Why this broker must stay silent now (its lease is lost or cannot be vouched for), if so. */
  silent: () => string | undefined;
  /** Replayed, venues started and reconciled: intents are judged from then on. */
  ready: () => boolean;
  reconcileNow: (trigger: ReconcileReport['trigger'], acceptExternal: boolean) => Promise<ReconcileReport[]>;
};

/**
 * Intents in. Not in a queue group: a frozen broker still connected would otherwise be handed
 * half the intents, which no one answers; every broker hears every intent and only the lease
 * holder answers.
 */
export function subscribeIntents(d: BrokerDoors): Subscription {
  // A made-up id on an open server must not become a metric or dead-letter label.
  const label = (id: string | undefined) => d.path.intents.labelOf(id);
  return subscribeParsed(d.nc, subjects.intentAll(), IntentSchema, (intent, msg) => onIntent(d, intent, msg), {
    log: d.log, concurrent: true, maxBytes: MAX_INTENT_BYTES, onInvalid: (msg, error) => replyInvalid(msg, error),
    metricSubject: (subject) => subjects.intent(label(subjects.intentSender(subject))),
  });
}

async function onIntent(d: BrokerDoors, intent: Intent, msg: Msg): Promise<void> {
  const { intents } = d.path;
  // The sender is the one the subject names: the generated NATS permissions let each
  // strategy's user publish on its own intent subject only (supervisor/nats-auth.ts). The
  // body's id is a claim that must agree.
  const sender = subjects.intentSender(msg.subject);
  // Fenced: silent. The leader's answer is the one the strategy must hear, and an early
  // not_leader from here would beat it to the requester.
  const fenced = d.silent();
  if (fenced !== undefined) {
    d.log.warn({ intentId: intent.intentId, strategy: intent.strategyId, reason: fenced }, 'intent ignored: this broker does not hold the lease');
    return;
  }
  const reply = sender === undefined || subjects.intent(intent.strategyId) !== msg.subject
    ? intents.deny(intent, 'strategy_mismatch', `intent for ${intent.strategyId} arrived on ${msg.subject}`, undefined, intents.labelOf(sender))
    // Still replaying or reconciling (a failover, a restart): not judged now, so not placed twice later.
    : d.ready() ? await intents.answer(intent) : intents.notReady(intent);
  if (msg.reply) msg.respond(encodeJson(IntentReplySchema, reply));
}

function replyInvalid(msg: Msg, error: string): void {
  if (!msg.reply) return;
  msg.respond(encodeJson(IntentReplySchema, { status: 'denied', intentId: '', rule: 'invalid_payload', reason: clip(error) }));
}

/**
 * The request paths other than intents (an operator's reconciliation, a strategy's last ticks,
 * its positions and open orders), for a broker that is ready and holds its lease: they are
 * answered from a replayed and reconciled broker, never from one still starting.
 */
export function serveRequests(d: BrokerDoors): Subscription[] {
  const { nc, log, path } = d;
  const label = (id: string | undefined) => path.intents.labelOf(id);
  const stateOf = (subject: string) => subject.slice(subjects.strategyState('x').length - 1);
  return [
    subscribeParsed(nc, subjects.reconcileRequest(), ReconcileRequestSchema, async (req, msg) => {
      if (d.silent() !== undefined) return;
      if (req.acceptExternal) log.warn({ by: req.by }, 'operator accepts positions outside the strategies as the new baseline');
      const reports = await d.reconcileNow('operator', req.acceptExternal ?? false);
      if (msg.reply) msg.respond(encodeJson(ReconcileReplySchema, { reports }));
    }, { log }),
    // A queue group: one broker answers. A frozen holder still connected is a member until it
    // wakes and fences itself; until then it answers nothing it cannot vouch for.
    subscribeParsed(nc, subjects.lastTicks(), LastTicksRequestSchema, (req, msg) => {
      if (d.silent() !== undefined) return;
      if (msg.reply) msg.respond(encodeJson(LastTicksReplySchema, { ticks: path.marketData.lastTicks(req.venue, req.symbols) }));
    }, { log, queue: 'broker' }),
    subscribeParsed(nc, subjects.strategyStateAll(), StrategyStateRequestSchema, (_req, msg) => {
      if (d.silent() !== undefined) return;
      if (msg.reply) msg.respond(encodeJson(StrategyStateReplySchema, path.ledger.strategyState(stateOf(msg.subject))));
    }, { log, queue: 'broker', maxBytes: MAX_INTENT_BYTES, metricSubject: (subject) => subjects.strategyState(label(stateOf(subject))) }),
  ];
}

/**
 * Every broker publish goes through here. A broker going down (or killed) cannot announce:
 * a venue push or a run finishing after the connection closed must not throw out of a socket
 * handler or timer. What matters is in the event log, which the next broker replays.
 */
export class Announcer {
  nc: NatsConnection | undefined;

  constructor(private readonly log: Logger) {}

  announce<S extends z.ZodType>(subject: string, schema: S, payload: z.input<S>): void {
    if (!this.nc) return;
    if (this.nc.isClosed() || this.nc.isDraining()) {
      this.log.debug({ subject }, 'bus closed: not announced');
      return;
    }
    publishJson(this.nc, subject, schema, payload);
  }
}
