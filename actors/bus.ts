import { connect, type NatsConnection, type Msg, type Subscription, type ConnectionOptions } from '@nats-io/transport-node';
import type { z } from 'zod';
import type { Logger } from 'pino';
import { subjects, inboxPrefix } from './subjects.ts';
import { describeZodError, clip, MAX_PAYLOAD_BYTES } from './messages.ts';
import { metrics } from './metrics.ts';

/**
 * The data plane's only entry points: publish validated JSON, subscribe with a parse on every
 * receive. A payload that fails to parse is dead-lettered and counted; the loop goes on.
 */
export const deadLetters = metrics.deadLettersTotal;

export type BusConnectOptions = {
  /** One URL, or several separated by commas (the nodes of a cluster: any one that answers will do). */
  servers: string;
  name: string;
  user?: string;
  pass?: string;
  timeoutMs?: number;
  /**
   * CA certificate (PEM file) the servers' TLS certificates are checked against: set on a
   * cluster whose nodes require TLS (deploy/nats/cluster.conf). Not a secret. Default: the
   * process's `ORCH_NATS_CA`, so every connection of a process (the broker's, the supervisor's,
   * each strategy worker's, the CLI's) trusts the same cluster.
   */
  tlsCaFile?: string;
};

/** `nats://a:4222,nats://b:4222` → each URL, trimmed; empty parts are dropped. */
export function serverList(servers: string): string[] {
  return servers.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export async function connectBus(opts: BusConnectOptions): Promise<NatsConnection> {
  const o: ConnectionOptions = {
    servers: serverList(opts.servers),
    name: opts.name,
    timeout: opts.timeoutMs ?? 5_000,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    // Otherwise every request (each intent, each event-log append) builds an Error up front,
    // only to give a possible timeout the caller's stack: 0.07 ms a request on the order path.
    noAsyncTraces: true,
  };
  if (opts.user) {
    o.user = opts.user;
    // Replies come to this user's own inbox; its permissions allow no other (docs/permissions.md).
    o.inboxPrefix = inboxPrefix(opts.user);
  }
  if (opts.pass) o.pass = opts.pass;
  const caFile = opts.tlsCaFile ?? process.env.ORCH_NATS_CA;
  if (caFile) o.tls = { caFile };
  return connect(o);
}

const enc = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson<S extends z.ZodType>(schema: S, payload: z.input<S>): Uint8Array {
  // Validate outgoing payloads too: a bug here should fail at the sender, not at every receiver.
  const parsed = schema.parse(payload);
  return enc.encode(JSON.stringify(parsed));
}

export function publishJson<S extends z.ZodType>(nc: NatsConnection, subject: string, schema: S, payload: z.input<S>): void {
  nc.publish(subject, encodeJson(schema, payload));
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

export function parseMsg<S extends z.ZodType>(schema: S, data: Uint8Array): ParseResult<z.output<S>> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (e) {
    return { ok: false, error: `not JSON: ${(e as Error).message}` };
  }
  const r = schema.safeParse(json);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: describeZodError(r.error) };
}

/**
 * `label` is the metric's subject label: by default the message's subject, which a sender on an
 * open server can make up; a subscription over many senders passes a bounded one instead.
 */
export function deadLetter(nc: NatsConnection, msg: Msg, error: string, log?: Logger, now = Date.now(), label = msg.subject): void {
  // A zod message can quote an unknown key of any length: the error is bounded like any text.
  error = clip(error);
  deadLetters.inc({ subject: label });
  log?.warn({ subject: clip(msg.subject, 256), error, bytes: msg.data.length }, 'payload dead-lettered');
  const raw = new TextDecoder().decode(msg.data).slice(0, 4096);
  try {
    nc.publish(subjects.deadLetter(msg.subject), enc.encode(JSON.stringify({ subject: msg.subject, error, raw, ts: now })));
  } catch {
    // The connection may be closing; the counter above already recorded it.
  }
}

export type Handler<T> = (value: T, msg: Msg) => void | Promise<void>;

/**
 * Subscribes and parses every message. Handler errors are logged and never end the loop:
 * a subscription that dies silently is a strategy that stops seeing its fills.
 */
export function subscribeParsed<S extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  schema: S,
  handler: Handler<z.output<S>>,
  opts: {
    log?: Logger;
    queue?: string;
    onInvalid?: (msg: Msg, error: string) => void;
    /** Largest payload parsed (bytes, default MAX_PAYLOAD_BYTES); a bigger one is dead-lettered unread. */
    maxBytes?: number;
    /** The dead-letter counter's subject label for a message (default its subject). */
    metricSubject?: (subject: string) => string;
    /**
     * Start each message's handler as it arrives instead of awaiting the previous one. Handlers
     * still begin in arrival order and their synchronous parts never interleave; only their
     * waits overlap. The broker's intents need this: one strategy's order waiting on the venue
     * must not hold another's.
     */
    concurrent?: boolean;
    /**
     * Call the (synchronous) handler from the connection's read loop, as each message is
     * parsed: handlers of `sync` subscriptions on one connection run exactly in arrival order,
     * which NATS keeps for messages from one publisher. A starting strategy needs it to tell
     * which order updates its broker snapshot already counted.
     */
    sync?: boolean;
  } = {},
): Subscription {
  const failed = (e: unknown, msg: Msg) => opts.log?.error({ err: e, subject: msg.subject }, 'handler failed');
  if (opts.sync) {
    return nc.subscribe(subject, {
      ...(opts.queue ? { queue: opts.queue } : {}),
      callback: (err, msg) => {
        if (err) return void opts.log?.warn({ err, subject }, 'subscription error');
        const r = parseMsg(schema, msg.data);
        if (!r.ok) {
          deadLetter(nc, msg, r.error, opts.log);
          opts.onInvalid?.(msg, r.error);
          return;
        }
        try {
          void Promise.resolve(handler(r.value, msg)).catch((e: unknown) => failed(e, msg));
        } catch (e) {
          failed(e, msg);
        }
      },
    });
  }
  const sub = nc.subscribe(subject, opts.queue ? { queue: opts.queue } : {});
  void (async () => {
    const maxBytes = opts.maxBytes ?? MAX_PAYLOAD_BYTES;
    for await (const msg of sub) {
      // Refused at the door, before a byte is decoded: a bound on every field is no help if a
      // megabyte has to be parsed to find the field that breaks it.
      const r = msg.data.length > maxBytes
        ? { ok: false as const, error: `payload of ${msg.data.length} bytes is over the ${maxBytes}-byte limit of ${subject}` }
        : parseMsg(schema, msg.data);
      if (!r.ok) {
        deadLetter(nc, msg, r.error, opts.log, Date.now(), opts.metricSubject?.(msg.subject) ?? msg.subject);
        opts.onInvalid?.(msg, r.error);
        continue;
      }
      try {
        const done = handler(r.value, msg);
        if (opts.concurrent) void Promise.resolve(done).catch((e: unknown) => failed(e, msg));
        else await done;
      } catch (e) {
        failed(e, msg);
      }
    }
  })();
  return sub;
}

/** Request/reply with both sides validated. */
export async function requestParsed<Req extends z.ZodType, Rep extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  reqSchema: Req,
  payload: z.input<Req>,
  replySchema: Rep,
  timeoutMs = 5_000,
): Promise<z.output<Rep>> {
  const msg = await nc.request(subject, encodeJson(reqSchema, payload), { timeout: timeoutMs });
  const r = parseMsg(replySchema, msg.data);
  if (!r.ok) throw new Error(`invalid reply on ${subject}: ${r.error}`);
  return r.value;
}
