import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { connectBus } from '../../../actors/bus.ts';
import type { ModifyIntent } from '../../../actors/messages.ts';
import { ensureEventStream } from '../../../broker/event-log.ts';
import { project } from '../../../broker/projection/projection.ts';
import { startKalshiSim } from '../../../exchanges/kalshi/index.ts';
import { startNatsServer } from '../../support/nats-server.ts';
import { spec } from '../../support/specs.ts';
import { startKalshiBroker } from '../../support/kalshi-broker.ts';
import { stopAfter } from '../../support/broker-actor.ts';
import { placeIntent, readLog, sendIntent, sendWhenPriced } from '../../support/recovery-harness.ts';

/**
 * A modify on Kalshi is an amend of the same order (POST .../orders/:id/amend) at the built-in
 * exchange; an amend whose answer never comes is looked up there, found, and not sent again.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const MARKET = 'KXFED-26DEC-T4.00';
const strategy = spec('km', {
  venue: 'kalshi', instruments: [MARKET],
  risk: { maxOrderQty: 1_000, maxOrderValue: 1_000_000_000, maxPosition: 10_000, maxOpenOrders: 50, priceBandBps: 5_000, ordersPerMinute: 6_000 },
});
let n = 0;
const modify = (targetIntentId: string, change: { qty?: number; limitPrice?: number }): ModifyIntent =>
  ({ action: 'modify', intentId: `km${Date.now().toString(36)}x${(n++).toString(36)}`, strategyId: 'km', ts: Date.now(), targetIntentId, ...change });

test('a Kalshi modify amends the resting order in place, and an amend whose answer is lost (the request times out) is looked up and found at the exchange', async (t) => {
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name: 'kalshi-modify' });
  await ensureEventStream(nc);
  const sim = await startKalshiSim({ seed: 5 });
  const running = await startKalshiBroker({ sim, natsUrl: nats.url, strategies: [strategy], log });
  stopAfter(t, { running, sim, nc, nats });

  // A bid two cents under the best bid rests; it is moved one cent up and grown, then moved again.
  const best = sim.engine.top(MARKET).bid![0];
  const place = placeIntent('km', { venue: 'kalshi', symbol: MARKET, side: 'BUY', qty: 100, orderType: 'LIMIT', limitPrice: best - 200 });
  const placed = await sendWhenPriced(nc, place);
  assert.equal(placed.status, 'accepted', JSON.stringify(placed));
  const ours = () => sim.orders().filter((o) => o.owner === 'user');

  const first = await sendIntent(nc, modify(place.intentId, { limitPrice: best - 100, qty: 300 }));
  assert.equal(first.status, 'accepted', JSON.stringify(first));
  assert.deepEqual(ours().map((o) => [o.orderId, o.price, o.initialCount, o.status]), [[placed.status === 'accepted' && placed.venueOrderId, best - 100, 300, 'resting']]);

  sim.faults.acceptThenTimeout(1);
  const lost = await sendIntent(nc, modify(place.intentId, { limitPrice: best - 300 }), 10_000);
  assert.equal(lost.status, 'accepted', `found at the exchange after the timeout: ${JSON.stringify(lost)}`);
  assert.deepEqual(ours().map((o) => [o.price, o.initialCount, o.status]), [[best - 300, 300, 'resting']], 'one order, at the last price');

  await running.events.flush();
  const events = await readLog(nc);
  const rec = project(events).book.get(place.intentId);
  assert.deepEqual(rec && [rec.qty, rec.limitPrice, rec.state], [300, best - 300, 'open'], 'the log replays to the amended order');
  assert.equal(events.filter((e) => e.event.kind === 'venue_write' && e.event.op === 'modify').length, 2);
});
