import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { spec, eventually } from '../../support/specs.ts';
import { kiteBrokerOnSim } from '../../support/kite-broker.ts';
import { INFY, placeIntent, sendIntent, sendWhenPriced, invariantViolations } from '../../support/recovery-harness.ts';

/**
 * The broker decides intents one at a time (so every gate sees the orders accepted before),
 * but it does not hold one strategy's intent behind another strategy's venue round trip:
 * a slow answer from the venue for A must not delay B's order.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const risk = { maxOrderQty: 10, maxOrderValue: 1_000_000_000, maxPosition: 1_000, maxOpenOrders: 50, priceBandBps: 2_000, ordersPerMinute: 6_000 };

async function setUp(t: { after: (fn: () => Promise<void>) => void }) {
  return kiteBrokerOnSim(t, { name: 'concurrent-test', strategies: [spec('slow', { risk }), spec('quick', { risk })], log, before: (sim) => sim.setPrice(INFY.token, 1500) });
}

test("one strategy's order waiting on the venue does not hold back another strategy's order", async (t) => {
  const { nc, sim } = await setUp(t);
  // Warm up until reconciled and priced, so the slow order below is not denied for that.
  assert.equal((await sendWhenPriced(nc, placeIntent('quick', { orderType: 'LIMIT', limitPrice: 140_000 }))).status, 'accepted');
  sim.faults.acceptThenTimeout(1); // the venue takes the next order and never answers it
  let slowAnswered = false;
  const slow = sendIntent(nc, placeIntent('slow', { orderType: 'LIMIT', limitPrice: 140_000 })).finally(() => { slowAnswered = true; });
  await eventually(() => sim.orders().length === 2, 'the slow order reached the venue');
  const quick = await sendIntent(nc, placeIntent('quick', { orderType: 'LIMIT', limitPrice: 140_000 }));
  assert.equal(quick.status, 'accepted', JSON.stringify(quick));
  assert.equal(slowAnswered, false, "the quick strategy's order was answered only after the slow one's venue call ended");
  assert.equal(sim.orders().length, 3);
  // The unanswered write is resolved by lookup: still one venue order per intent.
  assert.equal((await slow).status, 'accepted');
  const { problems } = await invariantViolations(nc, sim);
  assert.deepEqual(problems, []);
});

test('a cancel sent right behind its place waits for the place to reach the venue, then cancels it', async (t) => {
  const { nc, sim } = await setUp(t);
  assert.equal((await sendWhenPriced(nc, placeIntent('quick', { orderType: 'LIMIT', limitPrice: 140_000 }))).status, 'accepted');
  const place = placeIntent('slow', { orderType: 'LIMIT', limitPrice: 140_000 });
  const cancel = { action: 'cancel' as const, intentId: `${place.intentId}c`, strategyId: 'slow', ts: Date.now(), targetIntentId: place.intentId };
  const [placed, cancelled] = await Promise.all([
    sendIntent(nc, place),
    sendIntent(nc, cancel),
  ]);
  assert.equal(placed.status, 'accepted', JSON.stringify(placed));
  assert.equal(cancelled.status, 'accepted', JSON.stringify(cancelled));
  await eventually(() => sim.orders().find((o) => o.order_id === (placed.status === 'accepted' && placed.venueOrderId))?.status === 'CANCELLED', 'the venue order is cancelled');
});
