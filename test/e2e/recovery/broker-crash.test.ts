import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.ts';
import { eventually, spec } from '../../support/specs.ts';
import { connectBus } from '../../../actors/bus.ts';
import { systemClock } from '../../../actors/clock.ts';
import { startKiteSim, type KiteSim } from '../../../exchanges/kite/index.ts';
import { intentTag } from '../../../broker/kite/tag.ts';
import { KillStore } from '../../../broker/kill/kill-store.ts';
import { runReconcile } from '../../../supervisor/commands/reconcile.ts';
import { INFY, invariantViolations, placeIntent, readLog, sendIntent, sendWhenPriced, simAccount, spawnBroker, type BrokerProcess, type BrokerProcessConfig } from '../../support/recovery-harness.ts';

/**
 * kill -9 of the broker process with orders in flight (one accepted by the exchange whose
 * answer never came back), and a crash of nats-server itself, against a real nats-server with
 * JetStream in its own temp store and the built-in exchange. The exchange outlives both.
 */
let server: NatsServerHandle;
let sim: KiteSim;
let nc: NatsConnection;
let cfg: BrokerProcessConfig;
let broker: BrokerProcess | undefined;
const strategy = spec('s1', { risk: { maxOrderQty: 10, maxOrderValue: 100_000_000, maxPosition: 100, maxOpenOrders: 10, priceBandBps: 1_000, ordersPerMinute: 600 } });
const tagCount = (intentId: string) => sim.orders().filter((o) => o.tag === intentTag(intentId)).length;
const venueOrder = (intentId: string) => sim.orders().find((o) => o.tag === intentTag(intentId));

before(async () => {
  server = await startNatsServer();
  sim = await startKiteSim({ tickIntervalMs: 100, seed: 11, logger: pino({ level: 'silent' }) });
  sim.setPrice(INFY.token, 1500);
  nc = await connectBus({ servers: server.url, name: 'recovery-test' });
  cfg = { natsUrl: server.url, kite: simAccount(sim), strategies: [strategy], leaseTtlMs: 3_000 };
});

after(async () => {
  await broker?.kill('SIGKILL');
  await nc?.close();
  await sim?.close();
  await server?.cleanup();
});

test('after kill -9 with orders in flight the log is replayed, what landed is adopted, nothing is sent twice, no fill is lost, and trading resumes', async () => {
  broker = spawnBroker(cfg);
  await broker.waitFor('ready');

  const filled = placeIntent('s1', { qty: 2 });
  assert.equal((await sendWhenPriced(nc, filled)).status, 'accepted');
  const resting = placeIntent('s1', { qty: 3, orderType: 'LIMIT', limitPrice: 144_000 });
  assert.equal((await sendWhenPriced(nc, resting)).status, 'accepted');
  await eventually(() => venueOrder(filled.intentId)?.status === 'COMPLETE', 'the market order to fill');

  // The exchange applies the next write and never answers it, and its order frames are lost
  // (stalled socket): the broker dies knowing nothing of the order but the intent it logged.
  sim.faults.stallSockets(1_500);
  sim.faults.acceptThenTimeout(1);
  const unanswered = placeIntent('s1', { qty: 1 });
  void sendIntent(nc, unanswered, 30_000).catch(() => undefined);
  await eventually(() => venueOrder(unanswered.intentId), 'the unanswered write to land at the exchange');
  await broker.kill('SIGKILL');

  // While no broker runs, the resting order fills.
  sim.setPrice(INFY.token, 1430);
  await eventually(() => venueOrder(resting.intentId)?.status === 'COMPLETE', 'the resting order to fill while the broker is down');

  broker = spawnBroker(cfg);
  await broker.waitFor('ready', 30_000);

  // The strategy resends the intent it never got an answer for: the same order, not a second one.
  const again = await sendIntent(nc, unanswered);
  assert.equal(again.status, 'accepted');
  assert.equal(again.status === 'accepted' && again.duplicate, true);
  assert.equal(again.status === 'accepted' && again.venueOrderId, venueOrder(unanswered.intentId)!.order_id);
  assert.equal(tagCount(unanswered.intentId), 1);
  assert.equal(tagCount(filled.intentId), 1);
  assert.equal(tagCount(resting.intentId), 1);

  // Strategies resume: a new intent becomes a new order.
  const after = placeIntent('s1', { qty: 1 });
  assert.equal((await sendWhenPriced(nc, after)).status, 'accepted');
  await eventually(() => venueOrder(after.intentId)?.status === 'COMPLETE', 'the post-restart order to fill');

  const final = await eventually(async () => {
    const r = await invariantViolations(nc, sim);
    return r.problems.length === 0 ? r : undefined;
  }, 'the log to equal the exchange', 15_000).catch(async (e) => {
    throw new Error(`${(e as Error).message}: ${(await invariantViolations(nc, sim)).problems.join('; ')}`);
  });
  assert.equal(final.projection.book.get(unanswered.intentId)?.state, 'filled');
  assert.equal(final.projection.book.get(resting.intentId)?.filledQty, 3);
  const startRun = final.log.map((e) => e.event).find((e) => e.kind === 'reconcile' && e.report.trigger === 'start' && e.report.differences.length > 0);
  assert.ok(startRun && startRun.kind === 'reconcile', 'the start-up reconciliation is in the log');
  const kinds = startRun.report.differences.map((d) => `${d.kind}:${d.intentId}`);
  assert.ok(kinds.includes(`adopted:${unanswered.intentId}`), `adopted the unanswered order: ${kinds.join(', ')}`);
  assert.ok(kinds.includes(`missed_fill:${resting.intentId}`), `applied the fill made while down: ${kinds.join(', ')}`);
  assert.equal(startRun.report.result, 'resolved');
  // Explained differences do not trip the kill switch.
  const store = await KillStore.open(nc, { clock: systemClock, role: 'reader' });
  assert.equal((await store.read()).global.level, 0);
});

test('a crash of nats-server loses no fill: events wait in the broker and reach the log once the server is back', async () => {
  assert.ok(broker, 'the broker of the previous test runs');
  const resting = placeIntent('s1', { qty: 2, orderType: 'LIMIT', limitPrice: 138_000 });
  assert.equal((await sendWhenPriced(nc, resting)).status, 'accepted');
  const before = (await readLog(nc)).length;

  await server.stop('SIGKILL');
  sim.setPrice(INFY.token, 1370); // fills while the log is unreachable
  await eventually(() => venueOrder(resting.intentId)?.status === 'COMPLETE', 'the order to fill while NATS is down');
  server = await server.restart();
  await nc.close().catch(() => undefined);
  nc = await connectBus({ servers: server.url, name: 'recovery-test' });

  await eventually(async () => (await invariantViolations(nc, sim)).problems.length === 0, 'the fill made during the outage to reach the log', 15_000).catch(async (e) => {
    throw new Error(`${(e as Error).message}: ${(await invariantViolations(nc, sim)).problems.join('; ')}`);
  });
  const log = await readLog(nc);
  assert.ok(log.length > before);
  assert.ok(log.some((e) => e.event.kind === 'fill' && e.event.intentId === resting.intentId));
  // The broker kept its lease and answers again.
  const next = placeIntent('s1', { qty: 1 });
  assert.equal((await sendWhenPriced(nc, next)).status, 'accepted');
  assert.equal(tagCount(next.intentId), 1);
});

test('orch reconcile asks the running broker to reconcile now and prints the result per venue', async () => {
  const out: string[] = [];
  const code = await runReconcile(['--nats', server.url], {}, { out: (s) => out.push(s), err: (s) => out.push(s) });
  assert.equal(code, 0, out.join(''));
  assert.match(out.join(''), /^kite: (ok|resolved), \d+ difference\(s\)/m);
  const last = (await readLog(nc)).map((e) => e.event).filter((e) => e.kind === 'reconcile').at(-1);
  assert.equal(last?.kind === 'reconcile' && last.report.trigger, 'operator');
});
