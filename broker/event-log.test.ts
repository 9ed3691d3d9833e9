import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectBus } from '../actors/bus.ts';
import { startNatsServer, type NatsServerHandle } from '../test/support/nats-server.ts';
import { EventLog, ensureEventStream, readEvents } from './event-log.ts';
import { EventLogBudget } from './event-log-budget.ts';
import type { LogEvent } from './events/schema.ts';
import { metrics } from '../actors/metrics.ts';
import { EventLogFullError } from './errors.ts';

const silent = pino({ level: 'silent' });

const intent = (strategyId: string, n: number): LogEvent => ({
  kind: 'intent', strategyId, intentId: `${strategyId}-${n}`, ts: 1_700_000_000_000 + n,
  intent: { action: 'place', intentId: `${strategyId}-${n}`, strategyId, ts: 1_700_000_000_000 + n, venue: 'kite', symbol: 'NSE:INFY', side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: 150_000 },
});

async function stored(nc: NatsConnection): Promise<{ seq: number; id: string }[]> {
  const out: { seq: number; id: string }[] = [];
  for await (const e of readEvents(nc)) out.push({ seq: e.seq, id: e.event.intentId! });
  return out;
}

async function setUp(t: { after: (fn: () => Promise<void>) => void }): Promise<{ nats: NatsServerHandle; nc: NatsConnection }> {
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name: 'event-log-test' });
  await ensureEventStream(nc);
  t.after(async () => {
    await nc.close();
    await nats.cleanup();
  });
  return { nats, nc };
}

test('appends made together are stored in the order made, each resolving with its own stream sequence', async (t) => {
  const { nc } = await setUp(t);
  const log = new EventLog(nc, silent);
  const seqs = await Promise.all(Array.from({ length: 150 }, (_, i) => log.append(intent('alpha', i))));
  const rows = await stored(nc);
  assert.deepEqual(rows.map((r) => r.id), Array.from({ length: 150 }, (_, i) => `alpha-${i}`));
  assert.deepEqual(seqs, rows.map((r) => r.seq));
});

test('two writers at once: neither loses an event and each keeps its own order', async (t) => {
  const { nats, nc } = await setUp(t);
  const other = await connectBus({ servers: nats.url, name: 'kill-controller' });
  t.after(() => other.close());
  const a = new EventLog(nc, silent);
  const b = new EventLog(other, silent);
  const pending: Promise<number>[] = [];
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 5; i++) pending.push(a.append(intent('alpha', round * 5 + i)), b.append(intent('beta', round * 5 + i)));
    await new Promise((r) => setImmediate(r));
  }
  const seqs = await Promise.all(pending);
  const rows = await stored(nc);
  assert.equal(rows.length, 200);
  assert.equal(new Set(rows.map((r) => r.id)).size, 200, 'no event stored twice');
  for (const s of ['alpha', 'beta']) {
    assert.deepEqual(rows.filter((r) => r.id.startsWith(s)).map((r) => r.id), Array.from({ length: 100 }, (_, i) => `${s}-${i}`));
  }
  const bySeq = new Map(rows.map((r) => [r.seq, r.id]));
  pending.forEach((_, k) => {
    const round = Math.floor(k / 10);
    const i = Math.floor((k % 10) / 2);
    const id = `${k % 2 === 0 ? 'alpha' : 'beta'}-${round * 5 + i}`;
    assert.equal(bySeq.get(seqs[k]!), id, `append ${k} resolved with the sequence of what it stored`);
  });
});

test('an event resent with the id it was stored under is stored once, and the batch behind it still lands', async (t) => {
  const { nc } = await setUp(t);
  const log = new EventLog(nc, silent);
  const first = await log.append(intent('alpha', 0), 'evt:fixed');
  // A retry after a lost ack: same id, followed by new events in the same batch.
  const [again, next] = await Promise.all([log.append(intent('alpha', 0), 'evt:fixed'), log.append(intent('alpha', 1))]);
  assert.equal(again, first);
  const rows = await stored(nc);
  assert.deepEqual(rows.map((r) => r.id), ['alpha-0', 'alpha-1']);
  assert.equal(next, rows[1]!.seq);
});

test('events queued while nats-server is down are stored after it returns, once each and in order', async (t) => {
  const { nats, nc } = await setUp(t);
  const log = new EventLog(nc, silent);
  await log.append(intent('alpha', 0));
  await nats.stop();
  const during = Array.from({ length: 10 }, (_, i) => log.append(intent('alpha', i + 1)));
  await new Promise((r) => setTimeout(r, 300));
  const back = await nats.restart();
  t.after(() => back.stop());
  await Promise.all(during);
  const rows = await stored(nc);
  assert.deepEqual(rows.map((r) => r.id), Array.from({ length: 11 }, (_, i) => `alpha-${i}`));
});

test('a write-ahead sent at once takes the appends queued before it along, and later ones land behind it', async (t) => {
  const { nc } = await setUp(t);
  const log = new EventLog(nc, silent);
  const order: string[] = [];
  const track = (p: Promise<number>, id: string) => p.then((seq) => { order.push(id); return seq; });
  // As the broker does: intent and decision queued for the end of the turn, then the write-ahead now.
  const first = [track(log.append(intent('alpha', 0)), 'alpha-0'), track(log.append(intent('alpha', 1)), 'alpha-1'), track(log.append(intent('alpha', 2), undefined, { sendNow: true }), 'alpha-2')];
  // Made while that batch is in flight, one of them urgent: they wait for it and keep their order.
  const second = [track(log.append(intent('alpha', 3), undefined, { sendNow: true }), 'alpha-3'), track(log.append(intent('alpha', 4)), 'alpha-4')];
  const seqs = await Promise.all([...first, ...second]);
  const rows = await stored(nc);
  assert.deepEqual(rows.map((r) => r.id), ['alpha-0', 'alpha-1', 'alpha-2', 'alpha-3', 'alpha-4']);
  assert.deepEqual(seqs, rows.map((r) => r.seq));
  assert.deepEqual(order, ['alpha-0', 'alpha-1', 'alpha-2', 'alpha-3', 'alpha-4']);
});

test('once its connection is closed for good, queued events fail (they are not retried forever) and flush returns', async (t) => {
  const { nats } = await setUp(t);
  const own = await connectBus({ servers: nats.url, name: 'closing-writer' });
  const log = new EventLog(own, silent);
  await own.close();
  const append = log.append(intent('gamma', 1));
  await assert.rejects(append, /closed/);
  await log.flush();
  assert.equal(log.pending(), 0);
  await assert.rejects(log.append(intent('gamma', 2)), /event log closed/);
});

const bigDecision = (n: number, bytes: number): LogEvent => ({
  kind: 'decision', strategyId: 'alpha', intentId: `alpha-${n}`, ts: 1_700_000_000_000 + n, decision: 'denied', rule: 'r', reason: 'x'.repeat(bytes),
});

test('an event too large to store is stored as a flagged, truncated record, and the events behind it are stored in order', async (t) => {
  const { nc } = await setUp(t);
  const log = new EventLog(nc, silent);
  const count = async () => (await metrics.eventLogOversizeTotal.get()).values.find((v) => v.labels.kind === 'decision')?.value ?? 0;
  const before = await count();
  const seqs = await Promise.all([log.append(intent('alpha', 0)), log.append(bigDecision(1, 2 * 1024 * 1024)), log.append(intent('alpha', 2))]);
  assert.equal(seqs.length, 3);
  const rows: LogEvent[] = [];
  for await (const e of readEvents(nc)) rows.push(e.event);
  assert.deepEqual(rows.map((e) => e.intentId), ['alpha-0', 'alpha-1', 'alpha-2']);
  const flagged = rows[1]!;
  assert.equal(flagged.kind, 'oversize');
  assert.ok(flagged.kind === 'oversize' && flagged.originalKind === 'decision' && flagged.bytes > 2 * 1024 * 1024 && flagged.head.length <= 1_024);
  assert.equal(await count() - before, 1);
});

test("an event the server refuses as too large (its limit below the log's) is replaced, not retried forever", async (t) => {
  const { nc } = await setUp(t);
  // The log's own bound set above nats-server's max_payload (1 MiB): the server's refusal must not stall the queue.
  const log = new EventLog(nc, silent, undefined, { maxEventBytes: 8 * 1024 * 1024 });
  const all = Promise.all([log.append(bigDecision(1, 1_200_000)), log.append(intent('alpha', 2))]);
  const late = new Promise<'late'>((r) => setTimeout(() => r('late'), 8_000).unref());
  assert.notEqual(await Promise.race([all, late]), 'late', 'the queue behind the refused event moves on');
  const rows: LogEvent[] = [];
  for await (const e of readEvents(nc)) rows.push(e.event);
  assert.deepEqual(rows.map((e) => e.kind), ['oversize', 'intent']);
});

test('at its budget the log refuses an event at once and stores nothing for it; what came before stays', async (t) => {
  const { nc } = await setUp(t);
  const budget = new EventLogBudget(4 * 1024);
  const log = new EventLog(nc, silent, undefined, { budget });
  const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => log.append(intent('full', i))));
  const refused = outcomes.findIndex((o) => o.status === 'rejected');
  assert.ok(refused > 0, 'some events fit, then the log is full');
  assert.ok(outcomes.slice(refused).every((o) => o.status === 'rejected' && o.reason instanceof EventLogFullError), 'every later event is refused, none queued');
  assert.deepEqual((await stored(nc)).map((r) => r.id), Array.from({ length: refused }, (_, i) => `full-${i}`));
});
