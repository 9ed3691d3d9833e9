import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type JsMsg, RetentionPolicy, StorageType, DiscardPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { nuid } from '@nats-io/nuid';
import { InvalidArgumentError } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { subjects, STREAM_EVENTS } from '../actors/subjects.ts';
import { systemClock, type Clock } from '../actors/clock.ts';
import { describeZodError, clip } from '../actors/messages.ts';
import { metrics } from '../actors/metrics.ts';
import type { EventLogBudget } from './event-log-budget.ts';
import { LogEventSchema, type LogEvent, type StoredEvent } from './events/schema.ts';
import { EventLogFullError } from './errors.ts';

/**
 * The immutable event log: JetStream stream ORCH_EVENTS over `orch.evt.<kind>.<strategy>`,
 * file storage (docs/event-log.md). Positions, open orders and P&L are projections of it.
 */
export const EVENTS_STREAM_CONFIG = {
  name: STREAM_EVENTS,
  subjects: [subjects.eventsAll()],
  storage: StorageType.File,
  retention: RetentionPolicy.Limits,
  // Full = new events refused (loudly: intents denied event_log_unavailable), never the oldest
  // dropped: an order's history must not vanish to make room (docs/event-log.md).
  discard: DiscardPolicy.New,
  max_age: 0, // kept until an operator archives it (orch events export, then purge)
  max_bytes: 2 * 1024 * 1024 * 1024, // 2 GiB
  duplicate_window: 2 * 60 * 1_000_000_000, // 2 minutes, in ns: a resent event with the same id is stored once
  num_replicas: 1,
};

/**
 * `maxBytes`: the stream's size limit (default 2 GiB); the system passes its budget's hard limit.
 * `replicas`: copies kept (broker/replicas.ts; default 1, 3 on the cluster of deploy/nats/).
 */
export async function ensureEventStream(nc: NatsConnection, o: { maxBytes?: number; replicas?: number } = {}): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const max_bytes = o.maxBytes ?? EVENTS_STREAM_CONFIG.max_bytes;
  const num_replicas = o.replicas ?? EVENTS_STREAM_CONFIG.num_replicas;
  try {
    await jsm.streams.info(STREAM_EVENTS);
    // An existing stream (older releases discarded the oldest events) is switched to refusing new
    // ones; one made on a single server gets the cluster's copies.
    await jsm.streams.update(STREAM_EVENTS, { subjects: EVENTS_STREAM_CONFIG.subjects, max_bytes, discard: EVENTS_STREAM_CONFIG.discard, duplicate_window: EVENTS_STREAM_CONFIG.duplicate_window, num_replicas });
  } catch {
    await jsm.streams.add({ ...EVENTS_STREAM_CONFIG, max_bytes, num_replicas });
  }
}

type Pending = { ev: LogEvent; data: string; msgId: string; done: (seq: number) => void; fail: (e: Error) => void };

/**
 * Largest event stored as it is (bytes of JSON). Far above any real event (an order's events
 * are under 1 KB, a reconciliation report with many differences some KB) and well under
 * nats-server's max_payload (1 MiB in nats.conf). A larger event is stored as an `oversize`
 * record instead: it once blocked every event behind it, retried forever.
 */
export const MAX_EVENT_BYTES = 256 * 1024;
/** How much of an oversize event its record keeps. */
const OVERSIZE_HEAD_CHARS = 1_024;
/** JetStream's answer when a message is larger than the stream's max_msg_size. */
const MESSAGE_TOO_LARGE = 10054;

const RETRY_MS = [50, 100, 250, 500, 1_000, 2_000];
/** Appends sent before the first ack returns: the broker's intent, decision and write-ahead go out together. */
const MAX_IN_FLIGHT = 64;
/** JetStream's answer when `Nats-Expected-Last-Msg-Id` does not match: another writer came between, or a predecessor was lost. */
const WRONG_LAST_MSG_ID = 10070;
/** JetStream's answer when a stream with discard `new` is at max_bytes or max_msgs ("maximum bytes exceeded"). */
const STORE_LIMIT = 10077;

/**
 * Appends in order, each retried until the stream acks it: an outage of nats-server delays
 * events, it does not lose them while this process lives. Every event carries a message id,
 * so a retry whose first attempt was in fact stored is stored once.
 *
 * Queued events are sent together rather than one round trip each, and still land in order:
 * every event after the first of a batch is published with `Nats-Expected-Last-Msg-Id` set to
 * its predecessor's id, so the stream refuses it unless the predecessor is the entry right
 * before it. An event can therefore only be stored after everything queued before it, and a
 * stored event proves its predecessors are stored (a lost ack costs nothing).
 */
export class EventLog {
  private readonly js: JetStreamClient;
  private readonly queue: Pending[] = [];
  private draining = false;
  private scheduled = false;
  private closed = false;
  private idle: (() => void)[] = [];

  private readonly maxBytes: number;

  private readonly budget: EventLogBudget | undefined;

  /** `budget`: the log's size limit shared by every writer of this process (broker/event-log-budget.ts). */
  constructor(private readonly nc: NatsConnection, private readonly log: Logger, private readonly clock: Clock = systemClock, o: { maxEventBytes?: number; budget?: EventLogBudget } = {}) {
    this.js = jetstream(nc);
    this.maxBytes = o.maxEventBytes ?? MAX_EVENT_BYTES;
    this.budget = o.budget;
  }

  /**
   * Appends and resolves with the stream sequence once stored (write-ahead: await it before a
   * venue write). Appends made in the same turn go out together at the end of it; `sendNow`
   * sends the queue at once instead, so the write-ahead is on the wire before its caller goes
   * on to prepare the order.
   */
  append(ev: LogEvent, msgId: string = `evt:${nuid.next()}`, o: { sendNow?: boolean } = {}): Promise<number> {
    LogEventSchema.parse(ev); // a malformed event is a bug at the writer, not a puzzle for every reader
    return new Promise<number>((done, fail) => {
      if (this.closed) return fail(new Error('event log closed'));
      const data = JSON.stringify(ev);
      const p = { ev, data, msgId, done, fail };
      const entry = Buffer.byteLength(data) > this.maxBytes ? this.oversize(p) : p;
      // Full: refused here, loudly, before it is queued (nothing stored is ever dropped for room).
      if (this.budget && !this.budget.admit(Buffer.byteLength(entry.data))) {
        this.log.error({ kind: ev.kind, intentId: ev.intentId, used: this.budget.usedBytes(), limit: this.budget.limit }, 'event log full: event refused, not stored; archive and purge old days (orch events export)');
        return fail(new EventLogFullError());
      }
      this.queue.push(entry);
      if (o.sendNow) this.kick();
      else this.schedule();
    });
  }

  /** Fire-and-log: never blocks the caller; the queue keeps retrying in order. */
  record(ev: LogEvent, msgId?: string): void {
    this.append(ev, msgId).catch((err) => this.log.error({ err, kind: ev.kind, intentId: ev.intentId }, 'event log append failed'));
  }

  /** Resolves when every queued event is stored. */
  flush(): Promise<void> {
    if (this.queue.length === 0 && !this.draining) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  pending(): number {
    return this.queue.length;
  }

  /** Stops retrying; queued events are failed (and logged by `record`). */
  close(): void {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.fail(new Error('event log closed'));
    if (!this.draining) for (const r of this.idle.splice(0)) r();
  }

  /**
   * The stand-in for an event that cannot be stored: kind, ids, size and its first characters,
   * flagged as `oversize` and counted. Same message id and promise, so the order holds.
   */
  private oversize(p: Pending): Pending {
    const bytes = Buffer.byteLength(p.data);
    const ev: LogEvent = {
      kind: 'oversize', ts: p.ev.ts, originalKind: p.ev.kind, bytes, head: p.data.slice(0, OVERSIZE_HEAD_CHARS),
      ...(p.ev.strategyId !== undefined ? { strategyId: clip(p.ev.strategyId, 64) } : {}),
      ...(p.ev.intentId !== undefined ? { intentId: clip(p.ev.intentId, 64) } : {}),
    };
    metrics.eventLogOversizeTotal.inc({ kind: p.ev.kind });
    this.log.error({ kind: p.ev.kind, bytes, limit: this.maxBytes, intentId: ev.intentId }, 'event too large for the event log: stored as a truncated oversize record');
    return { ...p, ev, data: JSON.stringify(ev) };
  }

  /** Sends at the end of this turn, so appends made in it (intent, decision, write-ahead) share a batch. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.kick();
    });
  }

  /** Starts draining unless a batch is already in flight; the first batch's publishes happen synchronously. */
  private kick(): void {
    if (!this.draining && !this.closed && this.queue.length > 0) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      let attempt = 0;
      while (this.queue.length > 0 && !this.closed) {
        const batch = this.queue.slice(0, MAX_IN_FLIGHT);
        const pubs = batch.map((p, i) => this.js.publish(
          subjects.event(p.ev.kind, p.ev.strategyId ?? '_'),
          p.data,
          { msgID: p.msgId, timeout: 2_000, ...(i > 0 ? { expect: { lastMsgID: batch[i - 1]!.msgId } } : {}) },
        ));
        const results = await Promise.allSettled(pubs);
        // The last stored event proves every one before it in the batch is stored, right before it.
        let last = -1;
        for (let i = results.length - 1; i >= 0 && last < 0; i--) if (results[i]!.status === 'fulfilled') last = i;
        if (last >= 0) {
          const seq = (results[last] as PromiseFulfilledResult<{ seq: number }>).value.seq;
          this.queue.splice(0, last + 1).forEach((p, i) => p.done(seq - (last - i)));
        }
        const failed = results.slice(last + 1).map((r) => (r as PromiseRejectedResult).reason as Error);
        if (failed.length === 0) {
          attempt = 0;
          continue;
        }
        // Only refused for order (another writer came between): send the rest again now, as a new batch.
        if (last >= 0 && failed.every((e) => isWrongLastMsgId(e))) continue;
        // Too large for the server (a max_payload or max_msg_size below ours): retrying cannot
        // help, and it would hold every event behind it. Its record goes in its place, now.
        const tooLarge = failed.findIndex((e) => isTooLarge(e));
        if (tooLarge >= 0) {
          const i = last + 1 + tooLarge;
          this.queue[i] = this.oversize(this.queue[i]!);
          continue;
        }
        // The stream is full: waiting will not make room. The event is refused, loudly; the
        // ones after it are sent again and meet the same answer until an operator makes room.
        if (isStoreLimit(failed[0])) {
          const head = this.queue.shift()!;
          this.log.error({ kind: head.ev.kind, intentId: head.ev.intentId, queued: this.queue.length, err: failed[0]!.message }, 'event log full: event refused, not stored; archive and purge old days (orch events export)');
          head.fail(new EventLogFullError(failed[0]!));
          attempt = 0;
          continue;
        }
        // A connection closed for good (not one reconnecting) will never store them: say so once, and fail them.
        if (this.nc.isClosed()) {
          this.log.error({ queued: this.queue.length, kind: this.queue[0]?.ev.kind }, 'bus connection closed: queued events not stored');
          this.close();
          break;
        }
        if (attempt === 0) this.log.warn({ err: failed[0]!.message, kind: this.queue[0]?.ev.kind, queued: this.queue.length }, 'event log append failed; retrying');
        await this.clock.sleep(RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]!);
      }
    } finally {
      this.draining = false;
      if (this.queue.length === 0) for (const r of this.idle.splice(0)) r();
    }
  }
}

function isTooLarge(e: unknown): boolean {
  return (e instanceof InvalidArgumentError && /max_payload/.test(e.message)) || (e instanceof JetStreamApiError && e.code === MESSAGE_TOO_LARGE);
}

function isStoreLimit(e: unknown): boolean {
  return e instanceof JetStreamApiError && e.code === STORE_LIMIT;
}

function isWrongLastMsgId(e: unknown): boolean {
  return e instanceof JetStreamApiError && e.code === WRONG_LAST_MSG_ID;
}

/** One stream entry as a stored event, or why it is not one (the log may hold what an older version wrote). */
export function parseStored(m: JsMsg): { ok: true; stored: StoredEvent } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = m.json();
  } catch {
    raw = undefined;
  }
  const r = LogEventSchema.safeParse(raw);
  if (!r.success) return { ok: false, error: describeZodError(r.error) };
  return { ok: true, stored: { seq: m.seq, time: new Date(Math.floor(m.info.timestampNanos / 1_000_000)).toISOString(), event: r.data } };
}

export type ReadOptions = {
  /** Only events of this strategy (a subject filter, so the server skips the rest). */
  strategyId?: string;
  /** Start at this wall-clock time. */
  since?: Date;
  /** Start at this stream sequence. */
  fromSeq?: number;
  /** Called for an entry that fails to parse; it is skipped, never trusted. */
  onInvalid?: (seq: number, error: string) => void;
};

/**
 * Reads the log from the start (or `since`) up to its last entry at the time of the call,
 * parsing every entry. What replay, `orch events` and the tests use.
 */
export async function* readEvents(nc: NatsConnection, o: ReadOptions = {}): AsyncGenerator<StoredEvent> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAM_EVENTS);
  const last = info.state.last_seq;
  if (info.state.messages === 0) return;
  const js = jetstream(nc);
  const filter = o.strategyId ? subjects.eventsOf(o.strategyId) : subjects.eventsAll();
  const opts: Parameters<typeof js.consumers.get>[1] = { filter_subjects: filter };
  if (o.since) Object.assign(opts, { deliver_policy: DeliverPolicy.StartTime, opt_start_time: o.since.toISOString() });
  else if (o.fromSeq) Object.assign(opts, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: o.fromSeq });
  const consumer = await js.consumers.get(STREAM_EVENTS, opts);
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 1_000 });
    let got = 0;
    let done = false;
    for await (const m of batch) {
      got++;
      const r = parseStored(m);
      if (r.ok) yield r.stored;
      else o.onInvalid?.(m.seq, r.error);
      // Stop at the last entry that existed when the read began; waiting out `expires` would cost a second.
      if (m.seq >= last || m.info.pending === 0) {
        done = true;
        break;
      }
    }
    if (done || got === 0) break;
  }
  await consumer.delete().catch(() => undefined);
}
