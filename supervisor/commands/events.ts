import { parseArgs } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import { subjects, STREAM_EVENTS } from '../../actors/subjects.ts';
import { parseStored, readEvents } from '../../broker/event-log.ts';
import { formatEvent } from '../../broker/events/format.ts';
import type { StoredEvent } from '../../broker/events/schema.ts';
import { intArg } from './args.ts';
import { connectOperator } from './nats-cli.ts';
import { runEventsExport, type Out } from './events-export.ts';
import { registryIds } from './ops-client.ts';

const stdio: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

const USAGE = 'usage: orch events [--strategy ID] [--intent ID] [--since 5m|1h|2d|ISO | --last N] [--follow] [--json]\n';

/** `--since`: a duration back from `now` (`90s`, `5m`, `1h`, `2d`) or an ISO date/time; undefined when neither. */
export function parseSince(v: string, now: number): Date | undefined {
  const rel = /^(\d+)(s|m|h|d)$/.exec(v.trim());
  if (rel) return new Date(now - Number(rel[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd']);
  // Only date-like text: `new Date('5')` would be the year 2005.
  if (!/^\d{4}-\d{2}-\d{2}/.test(v.trim())) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * `orch events [--strategy ID] [--intent ID] [--since WHEN | --last N] [--follow] [--json]`:
 * prints the event log (ORCH_EVENTS) as readable lines, or one JSON object per line; with
 * `--follow`, keeps printing events as they are logged until Ctrl-C (or `opts.signal`).
 */
export async function runEvents(args: string[], env: NodeJS.ProcessEnv = process.env, io: Out = stdio, opts: { signal?: AbortSignal; now?: () => number } = {}): Promise<number> {
  if (args[0] === 'export') return runEventsExport(args.slice(1), env, io);
  let values;
  try {
    values = parseArgs({
      args, strict: true,
      options: { strategy: { type: 'string' }, intent: { type: 'string' }, since: { type: 'string' }, last: { type: 'string' }, follow: { type: 'boolean', short: 'f' }, json: { type: 'boolean' }, nats: { type: 'string' }, 'state-dir': { type: 'string' } },
    }).values;
  } catch (e) {
    io.err(`orch: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  let since: Date | undefined;
  if (values.since !== undefined) {
    since = parseSince(values.since, (opts.now ?? Date.now)());
    if (!since) {
      io.err(`orch: --since must be a duration back from now (30s, 5m, 1h, 2d) or an ISO date/time, got "${values.since}"\n`);
      return 2;
    }
  }
  if (since && values.last !== undefined) {
    io.err('orch: --since and --last exclude each other\n');
    return 2;
  }
  let last: number | undefined;
  try {
    last = values.last === undefined ? undefined : intArg(values.last, 'last', 0);
  } catch (e) {
    io.err(`orch: ${(e as Error).message}\n`);
    return 2;
  }
  const nc = await connectOperator(values, env);
  try {
    const tail: StoredEvent[] = [];
    let matched = 0;
    let lastSeq = 0;
    const print = (s: StoredEvent) => io.out(values.json ? `${JSON.stringify({ seq: s.seq, time: s.time, ...s.event })}\n` : `${formatEvent(s)}\n`);
    const o = { ...(values.strategy ? { strategyId: values.strategy } : {}), ...(since ? { since } : {}), onInvalid: (seq: number, error: string) => io.err(`orch: event #${seq} is not valid: ${error}\n`) };
    for await (const s of readEvents(nc, o)) {
      lastSeq = s.seq;
      matched++;
      if (values.intent && s.event.intentId !== values.intent && !(s.event.kind === 'intent' && 'targetIntentId' in s.event.intent && s.event.intent.targetIntentId === values.intent)) continue;
      if (last === undefined) print(s);
      else {
        tail.push(s);
        if (tail.length > last) tail.shift();
      }
    }
    for (const s of tail) print(s);
    if (values.strategy && matched === 0 && !since) {
      // Nothing logged under this id: a typo must not look like a quiet strategy.
      const ids = await registryIds(nc, 2_000);
      if (!ids?.includes(values.strategy)) {
        io.err(`orch: unknown strategy "${values.strategy}": not in the event log${ids ? ` nor in the running registry (${ids.join(', ') || 'empty'})` : ' (and no orchestrator answers to check its registry)'}\n`);
        return 1;
      }
    }
    if (values.follow) await follow(nc, { ...o, fromSeq: lastSeq + 1, ...(opts.signal ? { signal: opts.signal } : {}) }, (s) => {
      if (!values.intent || s.event.intentId === values.intent) print(s);
    });
    return 0;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/** Prints events as they are logged, from `fromSeq` on, until the signal (or SIGINT/SIGTERM). */
async function follow(nc: NatsConnection, o: { strategyId?: string; fromSeq: number; signal?: AbortSignal; onInvalid: (seq: number, error: string) => void }, print: (s: StoredEvent) => void): Promise<void> {
  const js = jetstream(nc);
  const info = await (await jetstreamManager(nc)).streams.info(STREAM_EVENTS);
  // Nothing read yet: start after what the log holds now.
  const start = o.fromSeq > 1 ? o.fromSeq : info.state.last_seq + 1;
  const consumer = await js.consumers.get(STREAM_EVENTS, {
    filter_subjects: o.strategyId ? subjects.eventsOf(o.strategyId) : subjects.eventsAll(),
    deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start,
  });
  const messages = await consumer.consume();
  const stop = () => void messages.stop();
  o.signal?.addEventListener('abort', stop);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (o.signal?.aborted) return;
    for await (const m of messages) {
      const r = parseStored(m);
      if (r.ok) print(r.stored);
      else o.onInvalid(m.seq, r.error);
    }
  } finally {
    o.signal?.removeEventListener('abort', stop);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await consumer.delete().catch(() => undefined);
  }
}

export const events = (args: string[]) => runEvents(args);
