import { parseArgs } from 'node:util';
import { open } from 'node:fs/promises';
import { readEvents } from '../../broker/event-log.ts';
import { connectOperator } from './nats-cli.ts';

/** Where a command writes: stdout and stderr, or a test's buffers. */
export type Out = { out: (s: string) => void; err: (s: string) => void };

const USAGE = 'usage: orch events export --before DATE --out FILE [--nats URL] [--state-dir DIR]\n';

/**
 * `orch events export --before DATE --out FILE`: archives every event stored before DATE (the
 * stream's own time) as one JSON object per line (`seq`, `time`, the event), into a new file of
 * mode 0600 (an existing file is never overwritten). Nothing is removed from the log: the
 * broker's positions are a replay of it, so making room needs a snapshot first (docs/event-log.md).
 */
export async function runEventsExport(args: string[], env: NodeJS.ProcessEnv, io: Out): Promise<number> {
  let values;
  try {
    values = parseArgs({ args, strict: true, options: { before: { type: 'string' }, out: { type: 'string' }, nats: { type: 'string' }, 'state-dir': { type: 'string' } } }).values;
  } catch (e) {
    io.err(`orch: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const before = values.before && /^\d{4}-\d{2}-\d{2}/.test(values.before) ? new Date(values.before) : undefined;
  if (!before || Number.isNaN(before.getTime())) {
    io.err(`orch: --before must be an ISO date or date/time (2026-11-30, 2026-11-30T09:15:00+05:30), got "${values.before ?? ''}"\n${USAGE}`);
    return 2;
  }
  if (!values.out) {
    io.err(`orch: --out FILE is required\n${USAGE}`);
    return 2;
  }
  let file;
  try {
    file = await open(values.out, 'wx', 0o600);
  } catch (e) {
    io.err(`orch: cannot create ${values.out}: ${(e as NodeJS.ErrnoException).code === 'EEXIST' ? 'it exists (an archive is never overwritten)' : (e as Error).message}\n`);
    return 1;
  }
  const nc = await connectOperator(values, env);
  let count = 0;
  let first: number | undefined;
  let last: number | undefined;
  try {
    for await (const s of readEvents(nc, { onInvalid: (seq, error) => io.err(`orch: event #${seq} is not valid and not exported: ${error}\n`) })) {
      if (new Date(s.time) >= before) break;
      await file.write(`${JSON.stringify({ seq: s.seq, time: s.time, ...s.event })}\n`);
      count++;
      first ??= s.seq;
      last = s.seq;
    }
    await file.sync();
  } finally {
    await file.close();
    await nc.close().catch(() => undefined);
  }
  io.out(`exported ${count} events${count ? ` (#${first}..#${last})` : ''} stored before ${before.toISOString()} to ${values.out}\n`);
  return 0;
}
