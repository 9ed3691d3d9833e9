import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { connectBus } from '../../../actors/bus.ts';
import type { ModifyIntent } from '../../../actors/messages.ts';
import { ensureEventStream } from '../../../broker/event-log.ts';
import { startKalshiSim } from '../../../exchanges/kalshi/index.ts';
import { startNatsServer } from '../../support/nats-server.ts';
import { spec } from '../../support/specs.ts';
import { kiteBrokerOnSim } from '../../support/kite-broker.ts';
import { startKalshiBroker } from '../../support/kalshi-broker.ts';
import { stopAfter } from '../../support/broker-actor.ts';
import { INFY, placeIntent, readLog, sendIntent, sendWhenPriced } from '../../support/recovery-harness.ts';

/**
 * A modify that would queue for the venue's rate limit longer than the strategy waits for its
 * answer is denied `rate_limited` before any write, as a place is, judged on the bucket the
 * modify spends: Kite's modify/cancel family (not its placements), Kalshi's write bucket. The
 * bucket is held by a pause, as a 429 from the venue pauses it.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const PAUSE_MS = 8_000; // longer than the broker's default 5 s bound
let n = 0;
const modifyOf = (strategyId: string, targetIntentId: string, change: { qty?: number; limitPrice?: number }): ModifyIntent =>
  ({ action: 'modify', intentId: `mw${Date.now().toString(36)}x${(n++).toString(36)}`, strategyId, ts: Date.now(), targetIntentId, ...change });
const modifyWrites = async (nc: Parameters<typeof readLog>[0]) => (await readLog(nc)).filter((e) => e.event.kind === 'venue_write' && e.event.op === 'modify').length;

test('Kite: a modify is judged on the modify bucket: accepted while placements are paused, denied rate_limited with nothing sent while modifies are', async (t) => {
  const risk = { maxOrderQty: 10, maxOrderValue: 1_000_000_000, maxPosition: 100, maxOpenOrders: 5, priceBandBps: 2_000, ordersPerMinute: 600 };
  const { nc, sim, running } = await kiteBrokerOnSim(t, { name: 'modify-wait-kite', strategies: [spec('mwk', { risk })], log, before: (s) => s.setPrice(INFY.token, 1_500) });
  const place = placeIntent('mwk', { orderType: 'LIMIT', limitPrice: 140_000, qty: 5 });
  assert.equal((await sendWhenPriced(nc, place)).status, 'accepted');

  // Placements held: a new order is refused, a modify of a resting one still goes.
  running.limiter.pauseUntil('kite.orders', Date.now() + PAUSE_MS);
  const blocked = await sendIntent(nc, placeIntent('mwk', { orderType: 'LIMIT', limitPrice: 140_000, qty: 1 }));
  assert.equal(blocked.status === 'denied' && blocked.rule, 'rate_limited', JSON.stringify(blocked));
  const moved = await sendIntent(nc, modifyOf('mwk', place.intentId, { limitPrice: 141_000 }));
  assert.equal(moved.status, 'accepted', JSON.stringify(moved));
  assert.deepEqual(sim.orders().map((o) => o.price), [1_410]);

  // Modifies held (their family counts with Kite's other endpoints): refused at once, not sent.
  running.limiter.pauseUntil('kite.modify', Date.now() + PAUSE_MS);
  const slow = await sendIntent(nc, modifyOf('mwk', place.intentId, { limitPrice: 142_000 }), 15_000);
  assert.equal(slow.status === 'denied' && slow.rule, 'rate_limited', JSON.stringify(slow));
  assert.ok(slow.status === 'denied' && Number(slow.figures?.actual) > 5_000 && slow.figures?.limit === 5_000, JSON.stringify(slow));
  assert.deepEqual(sim.orders().map((o) => [o.price, o.quantity]), [[1_410, 5]], 'the exchange order is unchanged');
  assert.equal(await modifyWrites(nc), 1, 'only the accepted modify was written');
});

test('Kalshi: a modify that would wait past the bound in the write bucket is denied rate_limited and never amends the order', async (t) => {
  const MARKET = 'KXFED-26DEC-T4.00';
  const strategy = spec('mwq', {
    venue: 'kalshi', instruments: [MARKET],
    risk: { maxOrderQty: 1_000, maxOrderValue: 1_000_000_000, maxPosition: 10_000, maxOpenOrders: 50, priceBandBps: 5_000, ordersPerMinute: 6_000 },
  });
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name: 'modify-wait-kalshi' });
  await ensureEventStream(nc);
  const sim = await startKalshiSim({ seed: 5 });
  const running = await startKalshiBroker({ sim, natsUrl: nats.url, strategies: [strategy], log });
  stopAfter(t, { running, sim, nc, nats });

  const best = sim.engine.top(MARKET).bid![0];
  const place = placeIntent('mwq', { venue: 'kalshi', symbol: MARKET, side: 'BUY', qty: 100, orderType: 'LIMIT', limitPrice: best - 200 });
  assert.equal((await sendWhenPriced(nc, place)).status, 'accepted');
  const ours = () => sim.orders().filter((o) => o.owner === 'user').map((o) => [o.price, o.initialCount]);

  running.limiter.pauseUntil('kalshi.write', Date.now() + PAUSE_MS);
  const slow = await sendIntent(nc, modifyOf('mwq', place.intentId, { limitPrice: best - 100 }), 15_000);
  assert.equal(slow.status === 'denied' && slow.rule, 'rate_limited', JSON.stringify(slow));
  assert.deepEqual(ours(), [[best - 200, 100]], 'the exchange order is unchanged');
  assert.equal(await modifyWrites(nc), 0, 'nothing written for the denied modify');
});
