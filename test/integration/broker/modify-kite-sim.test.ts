import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { z } from 'zod';
import { spec, eventually } from '../../support/specs.ts';
import { kiteBrokerOnSim } from '../../support/kite-broker.ts';
import { INFY, invariantViolations, placeIntent, readLog, sendIntent, sendWhenPriced } from '../../support/recovery-harness.ts';
import { KillStore } from '../../../broker/kill/kill-store.ts';
import { systemClock } from '../../../actors/clock.ts';
import type { KillLevel, KillScope, ModifyIntent } from '../../../actors/messages.ts';
import { StrategyActor } from '../../../actors/strategy-actor.ts';
import { SystemClock } from '../../../actors/clock.ts';
import { defineStrategy, type IntentAnswer } from '../../../strategies/sdk.ts';
import { project } from '../../../broker/projection/projection.ts';

/**
 * ctx.modify from a strategy actor, over NATS, through the real broker, to the built-in Kite
 * exchange: the resting order changes in place (PUT /orders/regular/:id), never a second order;
 * a change past the strategy's limits is denied before any venue write.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const risk = { maxOrderQty: 10, maxOrderValue: 1_000_000_000, maxPosition: 100, maxOpenOrders: 5, priceBandBps: 2_000, ordersPerMinute: 600 };

/** A strategy that does nothing by itself: the test drives its ctx as its callbacks would. */
let n = 0;
const idle = defineStrategy({ paramsSchema: z.object({}).passthrough(), create: () => ({ onTick: () => undefined }) });

test('a strategy re-prices its resting LIMIT order with ctx.modify: one order at the exchange, at the new price; a modify past maxOrderQty never reaches it', async (t) => {
  const mod = spec('mod', { instruments: [INFY.symbol], risk });
  const { nc, natsUrl, sim } = await kiteBrokerOnSim(t, { name: 'modify-kite-test', strategies: [mod], log, before: (s) => s.setPrice(INFY.token, 1_500) });
  const actor = new StrategyActor({ spec: mod, module: idle, natsUrl, clock: new SystemClock(), log });
  await actor.start();
  t.after(() => actor.stop());
  const { ctx } = actor;

  // Rests well below the market (inside the 20 % band); retried until the broker has a price.
  let placed: IntentAnswer | undefined;
  await eventually(async () => {
    placed = await ctx.place({ symbol: INFY.symbol, side: 'BUY', qty: 5, orderType: 'LIMIT', limitPrice: 140_000 });
    return placed.status === 'accepted';
  }, 'the place to be accepted once the broker has a reference price');
  assert.equal(placed?.status, 'accepted');
  const intentId = placed!.intentId;
  await eventually(() => sim.orders().some((o) => o.status === 'OPEN'), 'the order to rest at the exchange');

  const moved = await ctx.modify(intentId, { price: 141_000 });
  assert.equal(moved.status, 'accepted', JSON.stringify(moved));
  assert.equal(moved.status === 'accepted' && moved.venueOrderId, placed!.status === 'accepted' && placed!.venueOrderId, 'the same venue order');
  const orders = sim.orders();
  assert.equal(orders.length, 1, `exactly one order at the exchange: ${JSON.stringify(orders)}`);
  assert.deepEqual({ price: orders[0]!.price, qty: orders[0]!.quantity, status: orders[0]!.status }, { price: 1_410, qty: 5, status: 'OPEN' });
  assert.deepEqual(ctx.openOrders().map((o) => [o.intentId, o.limitPrice, o.qty]), [[intentId, 141_000, 5]]);

  const tooBig = await ctx.modify(intentId, { qty: 11 });
  assert.deepEqual(tooBig.status === 'denied' && [tooBig.rule, tooBig.figures], ['max_order_qty', { limit: 10, actual: 11 }]);
  assert.equal(sim.orders()[0]!.quantity, 5, 'the exchange order is unchanged');

  let events = await readLog(nc);
  const writes = events.filter((e) => e.event.kind === 'venue_write' && e.event.op === 'modify');
  assert.equal(writes.length, 1, 'one venue write for the one accepted modify; none for the denied one');

  // The exchange applies the next modify but never answers: it is looked up, found, not sent again.
  sim.faults.acceptThenTimeout(1);
  const lost = await ctx.modify(intentId, { price: 142_000, qty: 6 });
  assert.equal(lost.status, 'accepted', JSON.stringify(lost));
  assert.deepEqual(sim.orders().map((o) => [o.price, o.quantity, o.status]), [[1_420, 6, 'OPEN']], 'still one order, at the last change');

  // The log replays to the order at its new shape: what a restarted broker's book would hold.
  events = await readLog(nc);
  const rec = project(events).book.get(intentId);
  assert.deepEqual(rec && { qty: rec.qty, limitPrice: rec.limitPrice, venueOrderId: rec.venueOrderId, state: rec.state }, { qty: 6, limitPrice: 142_000, venueOrderId: orders[0]!.order_id, state: 'open' });
  const { problems } = await invariantViolations(nc, sim);
  assert.deepEqual(problems, []);
});

test('the kill switch decides a modify at the broker: refused at level 1 for the strategy and when re-pricing an opening order at level 2, nothing written', async (t) => {
  const mod = spec('modk', { instruments: [INFY.symbol], risk });
  const { nc, sim, running } = await kiteBrokerOnSim(t, { name: 'modify-kill-test', strategies: [mod], log, before: (s) => s.setPrice(INFY.token, 1_500) });
  // The operator's store sets the level; the broker follows it in its own (broker/start.ts).
  const operator = await KillStore.open(nc, { clock: systemClock, log, role: 'operator' });
  const setLevel = async (scope: KillScope, level: KillLevel) => {
    const cur = scope.kind === 'global' ? operator.current().global.level : operator.current().strategies[scope.strategyId]?.level ?? 0;
    if (level > cur) await operator.raise(level, scope, 'test', 'test');
    else await operator.reset(level, scope, 'test', 'test');
    const seen = () => { const k = running.killStore.current(); return (scope.kind === 'global' ? k.global.level : k.strategies[scope.strategyId]?.level ?? 0) === level; };
    await eventually(seen, `the broker to see level ${level}`);
  };
  const place = placeIntent('modk', { orderType: 'LIMIT', limitPrice: 140_000, qty: 5 });
  const placed = await sendWhenPriced(nc, place);
  assert.equal(placed.status, 'accepted', JSON.stringify(placed));
  const modify = (): ModifyIntent => ({ action: 'modify', intentId: `mk${Date.now().toString(36)}x${++n}`, strategyId: 'modk', ts: Date.now(), targetIntentId: place.intentId, limitPrice: 141_000 });

  await setLevel({ kind: 'strategy', strategyId: 'modk' }, 1);
  const halted = await sendIntent(nc, modify());
  assert.equal(halted.status === 'denied' && halted.rule, 'kill_level', JSON.stringify(halted));
  await setLevel({ kind: 'strategy', strategyId: 'modk' }, 0);
  await setLevel({ kind: 'global' }, 2);
  const reduceOnly = await sendIntent(nc, modify());
  assert.equal(reduceOnly.status === 'denied' && reduceOnly.rule, 'kill_level', `a BUY opening a position may not be re-priced at level 2: ${JSON.stringify(reduceOnly)}`);
  await setLevel({ kind: 'global' }, 0);
  const free = await sendIntent(nc, modify());
  assert.equal(free.status, 'accepted', JSON.stringify(free));

  const events = await readLog(nc);
  assert.equal(events.filter((e) => e.event.kind === 'venue_write' && e.event.op === 'modify').length, 1, 'only the permitted modify was written');
  assert.deepEqual(sim.orders().map((o) => [o.price, o.quantity]), [[1_410, 5]]);
});

test('Kite takes 25 modifications of one order: the broker denies the 26th max_modifications before any write, and the count replays from the log', async (t) => {
  const mod = spec('mod25', { instruments: [INFY.symbol], risk });
  const { nc, sim } = await kiteBrokerOnSim(t, { name: 'modify-cap-test', strategies: [mod], log, before: (s) => s.setPrice(INFY.token, 1_500) });
  const place = placeIntent('mod25', { orderType: 'LIMIT', limitPrice: 140_000, qty: 5 });
  const placed = await sendWhenPriced(nc, place);
  assert.equal(placed.status, 'accepted', JSON.stringify(placed));
  const modify = (limitPrice: number): ModifyIntent => ({ action: 'modify', intentId: `mc${Date.now().toString(36)}x${++n}`, strategyId: 'mod25', ts: Date.now(), targetIntentId: place.intentId, limitPrice });
  for (let i = 1; i <= 25; i++) {
    const r = await sendIntent(nc, modify(140_000 - i * 5));
    assert.equal(r.status, 'accepted', `modification ${i}: ${JSON.stringify(r)}`);
  }
  const capped = await sendIntent(nc, modify(130_000));
  assert.deepEqual(capped.status === 'denied' && [capped.rule, capped.figures], ['max_modifications', { limit: 25, actual: 25 }], JSON.stringify(capped));
  assert.deepEqual(sim.orders().map((o) => [o.price, o.status]), [[1_398.75, 'OPEN']], 'the exchange order keeps its 25th change');
  const events = await readLog(nc);
  assert.equal(events.filter((e) => e.event.kind === 'venue_write' && e.event.op === 'modify').length, 25, 'nothing written for the 26th');
  assert.equal(project(events).book.get(place.intentId)?.modifies, 25, 'a restarted broker counts the same 25');
});
