import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { connectBus } from '../../../actors/bus.ts';
import { EventLog, ensureEventStream, readEvents } from '../../../broker/event-log.ts';
import type { LogEvent } from '../../../broker/events/schema.ts';
import { runEvents } from '../../../supervisor/commands/events.ts';
import { startNatsServer } from '../../support/nats-server.ts';

const intent = (n: number): LogEvent => ({
  kind: 'intent', strategyId: 'arch', intentId: `arch-${n}`, ts: 1_700_000_000_000 + n,
  intent: { action: 'place', intentId: `arch-${n}`, strategyId: 'arch', ts: 1_700_000_000_000 + n, venue: 'kite', symbol: 'NSE:INFY', side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: 150_000 },
});

test('orch events export archives the events stored before a date as JSON lines (0600), never overwrites an archive, and removes nothing from the log', async (t) => {
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name: 'export-test' });
  t.after(async () => { await nc.close(); await nats.cleanup(); });
  await ensureEventStream(nc);
  const log = new EventLog(nc, pino({ level: 'silent' }));
  for (let i = 1; i <= 3; i++) await log.append(intent(i));
  await new Promise((r) => setTimeout(r, 50));
  const cut = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 4; i <= 5; i++) await log.append(intent(i));

  const dir = await mkdtemp(join(tmpdir(), 'orch-export-'));
  const out = join(dir, 'archive.jsonl');
  let said = '';
  const io = { out: (s: string) => void (said += s), err: (s: string) => void (said += s) };
  const args = ['export', '--before', cut, '--out', out, '--nats', nats.url, '--state-dir', dir];
  assert.equal(await runEvents(args, {}, io), 0, said);
  const lines = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { seq: number; intentId: string });
  assert.deepEqual(lines.map((l) => [l.seq, l.intentId]), [[1, 'arch-1'], [2, 'arch-2'], [3, 'arch-3']]);
  assert.equal((await stat(out)).mode & 0o777, 0o600);
  assert.match(said, /exported 3 events \(#1\.\.#3\)/);

  said = '';
  assert.equal(await runEvents(args, {}, io), 1, 'an existing archive is not overwritten');
  assert.match(said, /exists/);
  assert.equal(await runEvents(['export', '--before', 'yesterday', '--out', join(dir, 'x'), '--nats', nats.url], {}, io), 2, 'a date that is not ISO is refused');
  let stored = 0;
  for await (const _ of readEvents(nc)) stored++;
  assert.equal(stored, 5, 'the log keeps every event');
});
