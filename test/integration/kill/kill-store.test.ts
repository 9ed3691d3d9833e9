import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.ts';
import { TestClock } from '../../../actors/clock.ts';
import { subjects } from '../../../actors/subjects.ts';
import { KillMessageSchema, type KillMessage } from '../../../actors/messages.ts';
import { subscribeParsed } from '../../../actors/bus.ts';
import { KillStore, type KillChange, type KillRole } from '../../../broker/kill/kill-store.ts';
import { effectiveLevel } from '../../../broker/kill/levels.ts';
import { KillStoreError } from '../../../broker/errors.ts';
import { eventually } from '../../support/wait.ts';

let server: NatsServerHandle;
const conns: NatsConnection[] = [];
let bucketNo = 0;

before(async () => {
  server = await startNatsServer();
});
after(async () => {
  for (const nc of conns) await nc.close().catch(() => {});
  await server.cleanup();
});

async function conn(): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  conns.push(nc);
  return nc;
}
/** Each test its own bucket, so tests never see each other's levels. */
function freshBucket(): string {
  return `orch_kill_t${++bucketNo}`;
}
async function store(bucket: string, role: KillRole = 'automation', registry = new Registry()) {
  return KillStore.open(await conn(), { clock: new TestClock(), role, bucket, registry });
}
const GLOBAL = { kind: 'global' } as const;
const strat = (strategyId: string) => ({ kind: 'strategy', strategyId }) as const;


test('automation only raises: a lower or equal level is a no-op and the latch holds', async () => {
  const bucket = freshBucket();
  const auto = await store(bucket);
  const r1 = await auto.raise(2, GLOBAL, 'reconciliation mismatch', 'automation:reconcile', { differences: 3 });
  assert.equal(r1.changed, true);
  const r2 = await auto.raise(1, GLOBAL, 'lower', 'automation:x');
  const r3 = await auto.raise(2, GLOBAL, 'same', 'automation:x');
  assert.deepEqual([r2.changed, r3.changed], [false, false]);
  const state = await (await store(bucket, 'reader')).read();
  assert.equal(state.global.level, 2);
  assert.equal(state.global.reason, 'reconciliation mismatch');
  assert.deepEqual(state.global.figures, { differences: 3 });
  assert.equal(state.global.revision, r1.revision);
});

test('every level change is broadcast on orch.kill with its KV revision, and no-ops are not', async () => {
  const bucket = freshBucket();
  const nc = await conn();
  const seen: KillMessage[] = [];
  const sub = subscribeParsed(nc, subjects.kill(), KillMessageSchema, (m) => void seen.push(m));
  await nc.flush();
  const auto = await store(bucket);
  const a = await auto.raise(1, strat('mr1'), 'daily loss', 'automation:daily_loss', { limit: 500, actual: 612 });
  await auto.raise(1, strat('mr1'), 'again', 'automation:daily_loss');
  const op = await store(bucket, 'operator');
  const b = await op.reset(0, strat('mr1'), 'reviewed', 'asha');
  const stored = () => seen.filter((m) => !m.provisional);
  await eventually(() => stored().length >= 2, 'two stored kill broadcasts', 3_000);
  await nc.flush();
  sub.unsubscribe();
  // The raise went out once before it was stored (the fast path), the repeat not at all.
  assert.deepEqual(seen.filter((m) => m.provisional).map((m) => [m.level, m.by]), [[1, 'automation:daily_loss']]);
  assert.ok(seen.findIndex((m) => m.provisional) < seen.findIndex((m) => !m.provisional), 'provisional first');
  assert.deepEqual(
    stored().map((m) => [m.level, m.scope, m.by, m.revision]),
    [
      [1, { kind: 'strategy', strategyId: 'mr1' }, 'automation:daily_loss', a.revision],
      [0, { kind: 'strategy', strategyId: 'mr1' }, 'operator:asha', b.revision],
    ],
  );
  assert.deepEqual(stored()[0]!.figures, { limit: 500, actual: 612 });
});

test('a raise is announced before it is stored, and the stored outcome always follows it', async () => {
  const bucket = freshBucket();
  const nc = await conn();
  const seen: KillMessage[] = [];
  const sub = subscribeParsed(nc, subjects.kill(), KillMessageSchema, (m) => void seen.push(m), { sync: true });
  await nc.flush();
  const op = await store(bucket, 'operator');
  await op.raise(3, GLOBAL, 'first', 'operator:asha');
  // A second store that has not seen the first raise: its fast path announces a raise the
  // store then finds already there; the stored entry is announced again so nobody keeps a guess.
  const late = await store(bucket);
  const r = await late.raise(2, GLOBAL, 'late', 'automation:x');
  assert.equal(r.changed, false);
  await eventually(() => seen.length >= 4, 'four broadcasts', 3_000);
  sub.unsubscribe();
  assert.deepEqual(seen.map((m) => [m.level, m.provisional ?? false]), [[3, true], [3, false], [2, true], [3, false]]);
  assert.equal(seen[3]!.revision, seen[1]!.revision, 'the stored level 3 restated');
});

test('a raise stored against a stale held entry is not skipped: a lowering the store has not seen yet is read first', async () => {
  const bucket = freshBucket();
  const auto = await store(bucket);
  await auto.raise(3, GLOBAL, 'trip', 'automation:x');
  // The operator lowers; `auto` does not watch, so it still holds level 3.
  await (await store(bucket, 'operator')).reset(0, GLOBAL, 'cleared', 'asha');
  assert.equal(auto.current().global.level, 3);
  const again = await auto.raise(3, GLOBAL, 'trip again', 'automation:x');
  assert.equal(again.changed, true, 'a held level 3 is no proof that level 3 is stored');
  const state = await (await store(bucket, 'reader')).read();
  assert.equal(state.global.level, 3);
  assert.equal(state.global.reason, 'trip again');
});

test('only an operator store can lower a level; the reset then takes effect everywhere', async () => {
  const bucket = freshBucket();
  const auto = await store(bucket);
  await auto.raise(3, GLOBAL, 'market data stale', 'automation:stale_data');
  await assert.rejects(auto.reset(0, GLOBAL, 'nope', 'broker'), (e: unknown) => e instanceof KillStoreError && e.code === 'not_operator');
  const reader = await store(bucket, 'reader');
  await assert.rejects(reader.raise(4, GLOBAL, 'nope', 'x'), (e: unknown) => e instanceof KillStoreError && e.code === 'read_only');
  const op = await store(bucket, 'operator');
  const r = await op.reset(0, GLOBAL, 'feed back', 'asha');
  assert.equal(r.changed, true);
  assert.equal((await op.reset(1, GLOBAL, 'not lower', 'asha')).changed, false, 'a "reset" upward is not a reset');
  const s = await reader.read();
  assert.deepEqual([s.global.level, s.global.by], [0, 'operator:asha']);
});

test('the kill level gauge follows the latched level per scope', async () => {
  const bucket = freshBucket();
  const registry = new Registry();
  const auto = await store(bucket, 'automation', registry);
  await auto.raise(1, strat('mom1'), 'runaway', 'automation:runaway');
  await auto.raise(2, GLOBAL, 'mismatch', 'automation:reconcile');
  const metric = await registry.getSingleMetric('orch_kill_level')!.get();
  const byScope = Object.fromEntries(metric.values.map((v) => [v.labels.scope, v.value]));
  assert.deepEqual(byScope, { global: 2, mom1: 1 });
});

test('two automations raising at once leave the higher level standing', async () => {
  const bucket = freshBucket();
  const [a, b] = await Promise.all([store(bucket), store(bucket)]);
  await a.read();
  const results = await Promise.all([a.raise(3, GLOBAL, 'stale', 'automation:stale_data'), b.raise(2, GLOBAL, 'mismatch', 'automation:reconcile')]);
  assert.ok(results.some((r) => r.changed));
  assert.equal((await a.read()).global.level, 3);
});

test('readThenWatch sees the state and then every later change once, in revision order', async () => {
  const bucket = freshBucket();
  const auto = await store(bucket);
  const op = await store(bucket, 'operator');
  const writes: number[] = [];
  const ids = ['a', 'b', 'c'];
  // Writer keeps changing levels while the reader starts up in the middle.
  const writer = (async () => {
    for (let i = 0; i < 30; i++) {
      const id = ids[i % 3]!;
      const r = i % 2 === 0 ? await auto.raise(((i % 4) + 1) as 1 | 2 | 3 | 4, strat(id), `raise ${i}`, 'automation:test') : await op.reset(0, strat(id), `reset ${i}`, 'asha');
      if (r.changed) writes.push(r.revision);
    }
  })();
  await eventually(() => writes.length >= 5, 'some writes', 3_000);
  const reader = await store(bucket, 'reader');
  const changes: KillChange[] = [];
  const { state, watch } = await reader.readThenWatch((c) => void changes.push(c));
  await writer;
  await eventually(() => (changes.at(-1)?.entry.revision ?? state.revision) >= writes.at(-1)!, 'the last write', 3_000);
  watch.stop();
  const revs = changes.map((c) => c.entry.revision);
  assert.deepEqual(revs, writes.filter((r) => r > state.revision), 'exactly the writes after the snapshot, in order');
  const final = await auto.read();
  for (const id of ids) assert.equal(effectiveLevel(reader.current(), id), effectiveLevel(final, id), `level of ${id}`);
});

test('the latched level survives a restart of nats-server', async () => {
  const own = await startNatsServer();
  try {
    const nc1 = await connect({ servers: own.url });
    const auto = await KillStore.open(nc1, { clock: new TestClock(), registry: new Registry() });
    await auto.raise(3, GLOBAL, 'broker disconnected too long', 'automation:disconnected', { downMs: 120_000 });
    await auto.raise(1, strat('mr1'), 'margin', 'automation:margin');
    await nc1.close();
    await own.stop();
    const again = await own.restart();
    try {
      const nc2 = await connect({ servers: again.url });
      const s = await (await KillStore.open(nc2, { clock: new TestClock(), role: 'reader', registry: new Registry() })).read();
      assert.deepEqual([s.global.level, s.global.reason, s.strategies.mr1?.level], [3, 'broker disconnected too long', 1]);
      assert.deepEqual(s.global.figures, { downMs: 120_000 });
      await nc2.close();
    } finally {
      await again.stop();
    }
  } finally {
    await own.cleanup();
  }
});

test('after a level-4 reset, a process that ran through the flatten must restart; a fresh one may trade', async () => {
  const bucket = freshBucket();
  const running = await store(bucket);
  await running.readThenWatch(() => {});
  const auto = await store(bucket);
  const flat = await auto.raise(4, GLOBAL, 'operator flatten', 'automation:test');
  assert.equal(flat.entry.restartRequired, true);
  const restartedDuring = await store(bucket);
  await restartedDuring.read();
  const op = await store(bucket, 'operator');
  const reset = await op.reset(0, GLOBAL, 'flattened, all clear', 'asha');
  assert.equal(reset.entry.level, 0);
  assert.deepEqual([reset.entry.restartRequired, reset.entry.flattenRevision], [true, flat.revision]);
  await eventually(() => running.current().global.revision === reset.revision, 'the running process to see the reset', 3_000);
  assert.equal(running.mustRestart(), true, 'the process that saw level 4 refuses until restarted');
  assert.equal(restartedDuring.mustRestart(), false, 'a process started after the flatten is clean');
  const fresh = await store(bucket);
  await fresh.read();
  assert.equal(fresh.mustRestart(), false);
  // A later automatic raise keeps the restart demand for processes that have not restarted yet.
  const later = await auto.raise(2, GLOBAL, 'mismatch', 'automation:reconcile');
  assert.equal(later.entry.flattenRevision, flat.revision);
});
