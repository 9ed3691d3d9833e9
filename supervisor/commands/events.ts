import { parseArgs } from 'node:util';
import { readEvents } from '../../broker/event-log.ts';
import { formatEvent } from '../../broker/events/format.ts';
import type { StoredEvent } from '../../broker/events/schema.ts';
import { intArg } from './args.ts';
import { connectOperator } from './nats-cli.ts';

export type Out = { out: (s: string) => void; err: (s: string) => void };
const stdio: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/**
 * `orch events [--strategy ID] [--intent ID] [--since ISO | --last N] [--json]`: prints the
 * event log (ORCH_EVENTS) as readable lines, or one JSON object per line.
 */
export async function runEvents(args: string[], env: NodeJS.ProcessEnv = process.env, io: Out = stdio): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args, strict: true,
      options: { strategy: { type: 'string' }, intent: { type: 'string' }, since: { type: 'string' }, last: { type: 'string' }, json: { type: 'boolean' }, nats: { type: 'string' }, 'state-dir': { type: 'string' } },
    }).values;
  } catch (e) {
    io.err(`orch: ${(e as Error).message}\nusage: orch events [--strategy ID] [--intent ID] [--since ISO|--last N] [--json]\n`);
    return 2;
  }
  let since: Date | undefined;
  if (values.since !== undefined) {
    since = new Date(values.since);
    if (Number.isNaN(since.getTime())) {
      io.err(`orch: --since must be an ISO date/time, got "${values.since}"\n`);
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
    const print = (s: StoredEvent) => io.out(values.json ? `${JSON.stringify({ seq: s.seq, time: s.time, ...s.event })}\n` : `${formatEvent(s)}\n`);
    const o = { ...(values.strategy ? { strategyId: values.strategy } : {}), ...(since ? { since } : {}), onInvalid: (seq: number, error: string) => io.err(`orch: event #${seq} is not valid: ${error}\n`) };
    for await (const s of readEvents(nc, o)) {
      if (values.intent && s.event.intentId !== values.intent && !(s.event.kind === 'intent' && 'targetIntentId' in s.event.intent && s.event.intent.targetIntentId === values.intent)) continue;
      if (last === undefined) print(s);
      else {
        tail.push(s);
        if (tail.length > last) tail.shift();
      }
    }
    for (const s of tail) print(s);
    return 0;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

export const events = (args: string[]) => runEvents(args);
