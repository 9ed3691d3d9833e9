import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, RetentionPolicy, StorageType, DiscardPolicy } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { subjects, STREAM_EVENTS } from '../actors/subjects.ts';

/**
 * The immutable event log: JetStream stream ORCH_EVENTS over `orch.evt.>`, file storage.
 * Every intent, decision, venue write and answer, state change, fill and kill change goes here.
 */
export const EVENTS_STREAM_CONFIG = {
  name: STREAM_EVENTS,
  subjects: [subjects.eventsAll()],
  storage: StorageType.File,
  retention: RetentionPolicy.Limits,
  discard: DiscardPolicy.Old,
  max_age: 0, // kept until an operator archives it
  max_bytes: 2 * 1024 * 1024 * 1024, // 2 GiB
  duplicate_window: 2 * 60 * 1_000_000_000, // 2 minutes, in ns: a resent event with the same id is stored once
  num_replicas: 1,
};

export async function ensureEventStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(STREAM_EVENTS);
    await jsm.streams.update(STREAM_EVENTS, { subjects: EVENTS_STREAM_CONFIG.subjects, max_bytes: EVENTS_STREAM_CONFIG.max_bytes, duplicate_window: EVENTS_STREAM_CONFIG.duplicate_window });
  } catch {
    await jsm.streams.add(EVENTS_STREAM_CONFIG);
  }
}

export type LoggedEvent = { kind: string; strategyId?: string; intentId?: string; ts: number; [k: string]: unknown };

export class EventLog {
  private readonly js: JetStreamClient;
  constructor(nc: NatsConnection, private readonly log: Logger) {
    this.js = jetstream(nc);
  }
  /**
   * Appends and waits for the stream's ack. `msgId` makes a retried append idempotent
   * (JetStream drops a duplicate within the window).
   */
  async append(ev: LoggedEvent, msgId?: string): Promise<number> {
    const subject = subjects.event(ev.kind, ev.strategyId ?? '_');
    const ack = await this.js.publish(subject, JSON.stringify(ev), msgId ? { msgID: msgId } : undefined);
    return ack.seq;
  }
  /** Fire-and-log: a failed append is logged loudly but never blocks the order path. */
  record(ev: LoggedEvent, msgId?: string): void {
    this.append(ev, msgId).catch((err) => this.log.error({ err, kind: ev.kind, intentId: ev.intentId }, 'event log append failed'));
  }
}
