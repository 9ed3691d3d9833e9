import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { connectBus } from '../../../actors/bus.ts';
import type { Difference } from '../../../broker/events/schema.ts';
import { ensureEventStream } from '../../../broker/event-log.ts';
import { project } from '../../../broker/projection/projection.ts';
import { startKalshiSim } from '../../../exchanges/kalshi/index.ts';
import { startNatsServer } from '../../support/nats-server.ts';
import { spec } from '../../support/specs.ts';
import { eventually } from '../../support/wait.ts';
import { crashBroker, startKalshiBroker, type InProcessKalshiBroker } from '../../support/kalshi-broker.ts';
import { placeIntent, readLog, sendIntent, sendWhenPriced } from '../../support/recovery-harness.ts';

/**
 * The finding: orch killed while its Kalshi orders rest, the orders fill while it is down, and
 * it starts again. The adapter's memory is gone and the orders no longer rest, so only the
 * venue's history (orders since the last event, fills, each open order by id) shows the fills.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const MARKET = 'KXFED-26DEC-T4.00';
const strategy = spec('kf', {
  venue: 'kalshi', instruments: [MARKET],
  risk: { maxOrderQty: 1_000, maxOrderValue: 1_000_000_000, maxPosition: 10_000, maxOpenOrders: 50, priceBandBps: 2_000, ordersPerMinute: 6_000 },
});

test('Kalshi orders that filled while the broker was dead are recorded as fills at the next start: none lost, none missing, the landed write not closed; only the hand-placed trade is unexplained, and it is reported, not accepted', async (t) => {
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name: 'kalshi-down' });
  await ensureEventStream(nc);
  const sim = await startKalshiSim({ seed: 5 });
  const mismatches: Difference[][] = [];
  let running: InProcessKalshiBroker | undefined;
  const start = async () => (running = await startKalshiBroker({ sim, natsUrl: nats.url, strategies: [strategy], log, onReconcileMismatch: async (_v, d) => void mismatches.push(d) }));
  t.after(async () => {
    running?.broker.fence('test over');
    await running?.stop().catch(() => undefined);
    await sim.close();
    await nc.close();
    await nats.cleanup();
  });
  await start();

  // Two bids join the best bid and rest; a third lands at the exchange but its answer never comes.
  const bid = sim.engine.top(MARKET).bid![0];
  const kalshiBid = (qty: number) => placeIntent('kf', { venue: 'kalshi', symbol: MARKET, side: 'BUY', qty, orderType: 'LIMIT', limitPrice: bid });
  const a = kalshiBid(100);
  const b = kalshiBid(200);
  const c = kalshiBid(300);
  assert.equal((await sendWhenPriced(nc, a)).status, 'accepted');
  assert.equal((await sendIntent(nc, b)).status, 'accepted');
  sim.faults.acceptThenTimeout(1);
  void sendIntent(nc, c, 10_000).catch(() => undefined);
  await eventually(() => sim.orders().some((o) => o.clientOrderId === c.intentId), 'the third write landed');

  // kill -9. While nobody listens the account's owner buys 1 contract by hand (another app, not
  // ours), and the market trades through the whole level: ours and the hand-placed order fill.
  await crashBroker(running!);
  sim.engine.place({ ticker: MARKET, side: 'bid', price: bid, count: 100, timeInForce: 'good_till_canceled', clientOrderId: 'phone-app-1' });
  const [price, total] = sim.engine.levels(MARKET).yes.at(-1)!;
  assert.equal(price, bid);
  sim.engine.place({ ticker: MARKET, side: 'ask', price, count: total, timeInForce: 'good_till_canceled' }, 'mm');
  const ours = sim.orders().filter((o) => [a, b, c].some((i) => i.intentId === o.clientOrderId));
  assert.deepEqual(ours.map((o) => [o.status, o.filled]).sort(), [['executed', 100], ['executed', 200], ['executed', 300]]);

  await start();
  await running!.events.flush();
  const events = await readLog(nc);
  const reports = events.flatMap((e) => (e.event.kind === 'reconcile' ? [e.event.report] : []));
  const kinds = reports.flatMap((r) => r.differences.map((d) => d.kind));
  assert.ok(!kinds.includes('missing_at_venue'), `no phantom open order: ${kinds.join(',')}`);
  assert.ok(!kinds.includes('not_landed'), `the landed write is not closed as not landed: ${kinds.join(',')}`);
  assert.ok(!kinds.includes('external_position'), `nothing silently taken as held outside the strategies: ${kinds.join(',')}`);
  // Our 600 are explained by the venue's fills; only the 100 bought by hand is not: reported, kill level 2.
  assert.deepEqual(mismatches.map((ds) => ds.map((d) => [d.kind, d.symbol, d.local, d.atVenue])), [[['position', MARKET, 600, 700]]]);
  assert.ok(kinds.includes('unrecognised_order'), 'the hand-placed order is reported');

  // Every venue fill is in the log, once, under its intent; the log's projection equals the venue.
  const p = project(events);
  for (const i of [a, b, c]) {
    const fills = events.flatMap((e) => (e.event.kind === 'fill' && e.event.intentId === i.intentId ? [e.event.fill.qty] : []));
    assert.equal(fills.reduce((s, q) => s + q, 0), i.qty, `fills of ${i.intentId}`);
    assert.equal(p.book.get(i.intentId)?.state, 'filled');
  }
  assert.equal(running!.broker.position('kf', MARKET), 600);
  assert.equal(p.external.size, 0);
  assert.deepEqual(running!.broker.projection.book.open(), []);
});
