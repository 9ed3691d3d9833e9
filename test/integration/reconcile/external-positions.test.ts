import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { connectBus } from '../../../actors/bus.ts';
import { systemClock } from '../../../actors/clock.ts';
import type { Difference, ReconcileReport } from '../../../broker/events/schema.ts';
import { ensureEventStream } from '../../../broker/event-log.ts';
import { KiteRestClient } from '../../../broker/kite/rest-client.ts';
import { positions } from '../../../broker/projection/projection.ts';
import { startKiteSim, type KiteSim } from '../../../exchanges/kite/index.ts';
import { startNatsServer } from '../../support/nats-server.ts';
import { spec } from '../../support/specs.ts';
import { eventually } from '../../support/wait.ts';
import { startKiteBroker, type InProcessBroker } from '../../support/kite-broker.ts';
import { INFY, placeIntent, sendWhenPriced } from '../../support/recovery-harness.ts';
import { FakeLimiter } from '../../support/fake-limiter.ts';

/**
 * A real account rarely starts flat: yesterday's positions, a trade placed by hand. By default
 * what no fill explains at start is reported as a mismatch (kill level 2) until an operator
 * accepts it; with externalAtStart: baseline it is recorded as positions outside the strategies.
 * A manual trade while running is a mismatch until an operator accepts it, either way.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const strategy = spec('ext', { risk: { maxOrderQty: 10, maxOrderValue: 1_000_000_000, maxPosition: 1_000, maxOpenOrders: 50, priceBandBps: 2_000, ordersPerMinute: 6_000 } });

/** Trades by hand on the account, as its owner would in the Kite app: no tag of ours. */
function manual(sim: KiteSim) {
  const token = sim.issueAccessToken();
  const rest = new KiteRestClient({ root: sim.restUrl, apiKey: sim.credentials.apiKey, getAccessToken: () => token, limiter: new FakeLimiter(), clock: systemClock });
  return (side: 'BUY' | 'SELL', quantity: number) =>
    rest.placeOrder('regular', { exchange: 'NSE', tradingsymbol: 'INFY', transaction_type: side, order_type: 'MARKET', ...{ market_protection: -1 }, quantity, product: 'MIS', validity: 'DAY' });
}

/** The manual orders stay `unrecognised_order` (reported, left alone) on every run; positions are what matter here. */
const positionDifferences = (r: ReconcileReport) => r.differences.filter((d) => d.kind === 'position' || d.kind === 'external_position');

/** The account's net INFY position, from the exchange's own book (no API call: the broker's rate budget is the account's). */
function venueNet(sim: KiteSim): number {
  return sim.orders().filter((o) => o.tradingsymbol === 'INFY').reduce((s, o) => s + (o.transaction_type === 'BUY' ? 1 : -1) * o.filled_quantity, 0);
}

/** A nats-server, the built-in exchange with INFY at 1500, and a broker started on demand; all torn down after. */
async function setUp(t: { after: (fn: () => Promise<void>) => void }, seed: number, externalAtStart?: 'baseline' | 'kill') {
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name: 'ext-test' });
  await ensureEventStream(nc);
  const sim = await startKiteSim({ tickIntervalMs: 50, seed, logger: log });
  sim.setPrice(INFY.token, 1500);
  const mismatches: Difference[][] = [];
  const env = { nc, sim, mismatches, running: undefined as InProcessBroker | undefined, start: async () => {
    env.running = await startKiteBroker({ sim, natsUrl: nats.url, strategies: [strategy], log, ...(externalAtStart ? { externalAtStart } : {}), onReconcileMismatch: async (_v, d) => void mismatches.push(d) });
    return env.running;
  } };
  t.after(async () => {
    env.running?.broker.fence('test over');
    await env.running?.stop().catch(() => undefined);
    await sim.close();
    await nc.close();
    await nats.cleanup();
  });
  return env;
}

test('with externalAtStart: baseline, positions held before start are the baseline; a manual trade later is a mismatch until accepted; a restart keeps the baseline', async (t) => {
  const { nc, sim, mismatches, start } = await setUp(t, 11, 'baseline');
  const trade = manual(sim);
  let running: InProcessBroker;

  await trade('BUY', 3);
  await eventually(() => venueNet(sim) === 3, 'the manual buy filled');
  running = await start();
  assert.equal(mismatches.length, 0, 'a position held before start does not stop trading');
  assert.equal(running.broker.projection.external.get('kite|NSE:INFY'), 3);

  // The strategy trades on top of it; its position is its own, and the account still reconciles.
  const reply = await sendWhenPriced(nc, placeIntent('ext', { side: 'BUY', qty: 2 }));
  assert.equal(reply.status, 'accepted', JSON.stringify(reply));
  await eventually(() => running!.broker.position('ext', INFY.symbol) === 2, 'the strategy\'s fill');
  const [ok] = await running.broker.reconcileNow('periodic');
  assert.deepEqual(positionDifferences(ok!), [], 'the account reconciles (the manual order is only reported)');
  assert.deepEqual(positions(running.broker.projection).map((p) => [p.strategyId, p.qty]), [['ext', 2]]);

  // A trade by hand while running: nothing explains it, so the kill switch goes up.
  await trade('SELL', 1);
  await eventually(() => venueNet(sim) === 4, 'the manual sell filled');
  const [bad] = await running.broker.reconcileNow('operator');
  assert.equal(bad!.result, 'mismatch');
  assert.equal(mismatches.length, 1);
  assert.deepEqual(mismatches[0]!.map((d) => [d.kind, d.local, d.atVenue]), [['position', 5, 4]]);

  // The operator accepts it (orch reconcile --accept-external).
  const [accepted] = await running.broker.reconcileNow('operator', true);
  assert.equal(accepted!.result, 'resolved');
  assert.deepEqual(accepted!.differences.filter((d) => d.kind === 'external_position').map((d) => [d.resolution, d.local, d.atVenue]), [['baseline', 2, 4]]);
  assert.equal(running.broker.projection.external.get('kite|NSE:INFY'), 2);
  assert.deepEqual(positionDifferences((await running.broker.reconcileNow('periodic'))[0]!), []);

  // A restart replays the baseline from the log: nothing to record again.
  running.broker.fence('restart');
  await running.stop();
  running = await start();
  assert.equal(running.broker.projection.external.get('kite|NSE:INFY'), 2);
  assert.equal(running.broker.position('ext', INFY.symbol), 2);
  assert.equal(mismatches.length, 1, 'no new mismatch after the restart');
});

test('by default a position held before start that no fill explains is reported as a mismatch, never silently accepted', async (t) => {
  const { sim, mismatches, start } = await setUp(t, 12);
  await manual(sim)('BUY', 3);
  await eventually(() => venueNet(sim) === 3, 'the manual buy filled');
  const running = await start();
  assert.deepEqual(mismatches.map((ds) => ds.map((d) => [d.kind, d.local, d.atVenue])), [[['position', 0, 3]]]);
  assert.equal(running.broker.projection.external.size, 0);
});
