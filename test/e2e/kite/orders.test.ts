import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IntentReplySchema, IntentSchema, type IntentReply } from '../../../actors/messages.ts';
import { requestParsed } from '../../../actors/bus.ts';
import { subjects } from '../../../actors/subjects.ts';
import { intentTag } from '../../../broker/kite/tag.ts';
import { postbackChecksum } from '../../../broker/kite/postback.ts';
import { metricsText, startWithSim, strategyYaml } from '../../support/kite-harness.ts';
import { eventually } from '../../support/wait.ts';

/** Order writes under exchange faults, through the whole system (login flow, real workers). */

const accepted = (rs: IntentReply[]) => rs.filter((r): r is Extract<IntentReply, { status: 'accepted' }> => r.status === 'accepted');

test('a place that times out after the exchange accepted it leaves exactly one order, and the strategy gets accepted with its id', async () => {
  const e = await startWithSim({ yaml: strategyYaml('slow', { every: 5, maxOrders: 1 }), arm: (sim) => sim.faults.acceptThenTimeout(1) });
  try {
    const reply = await eventually(() => accepted(e.replies)[0], 'the accepted reply', 20_000);
    const orders = e.sim.orders();
    assert.equal(orders.length, 1, 'exactly one order at the exchange');
    assert.equal(reply.venueOrderId, orders[0]!.order_id);
    assert.equal(orders[0]!.tag, intentTag(reply.intentId));
  } finally {
    await e.stop();
  }
});

test('a MarginException halts the strategy that caused it: kill level 1 for it, its next intent denied', async () => {
  const e = await startWithSim({ yaml: strategyYaml('margin', { every: 5, maxOrders: 1 }), arm: (sim) => sim.faults.marginExceptionNext(1) });
  try {
    const denied = await eventually(() => e.replies.find((r) => r.status === 'denied'), 'the margin denial');
    assert.equal(denied.status === 'denied' && denied.rule, 'venue_MarginException');
    // The same intent sent again (a strategy retrying after a lost reply) gets the same refusal, not a second try.
    const resent = await requestParsed(e.nc, subjects.intent('margin'), IntentSchema, {
      action: 'place', intentId: denied.intentId, strategyId: 'margin', ts: e.clock.now(), venue: 'kite',
      symbol: 'NSE:INFY', side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: e.sys.broker.lastPrice('kite', 'NSE:INFY')!,
    }, IntentReplySchema, 10_000);
    assert.equal(resent.status === 'denied' && resent.rule, 'venue_MarginException');
    await eventually(async () => (await e.sys.killStore.read()).strategies.margin?.level === 1, 'kill level 1 for the strategy');
    const next = await requestParsed(e.nc, subjects.intent('margin'), IntentSchema, {
      action: 'place', intentId: 'afterMargin1', strategyId: 'margin', ts: e.clock.now(), venue: 'kite',
      symbol: 'NSE:INFY', side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: e.sys.broker.lastPrice('kite', 'NSE:INFY')!,
    }, IntentReplySchema, 10_000);
    assert.equal(next.status, 'denied');
    assert.equal(next.status === 'denied' && next.rule, 'kill_level');
    assert.equal(e.sim.orders().length, 0, 'nothing reached the exchange');
  } finally {
    await e.stop();
  }
});

test('a 429 storm produces no duplicate and the orders still go through; rate-limit metrics are on /metrics', async () => {
  const e = await startWithSim({
    yaml: strategyYaml('stormy', { every: 3, maxOrders: 3, side: 'ALTERNATE' }),
    // From the first placement on, however long the system took to start (clock time runs fast here).
    arm: (sim) => sim.faults.rateLimitStorm(3_000, { fromFirstOrder: true }),
  });
  try {
    await eventually(() => accepted(e.replies).length === 3, 'three accepted orders', 30_000);
    const orders = e.sim.orders();
    assert.equal(orders.length, 3);
    assert.deepEqual(new Set(orders.map((o) => o.tag)), new Set(accepted(e.replies).map((r) => intentTag(r.intentId))));
    assert.ok(e.replies.every((r) => r.status === 'accepted'), 'no order was refused for the storm');
    const m = await metricsText(e.sys);
    assert.match(m, /^orch_venue_429_total\{venue="kite"\} [1-9]/m);
    assert.match(m, /^orch_limiter_throttled_total\{category="kite.orders"\} [1-9]/m);
    for (const name of ['orch_limiter_tokens', 'orch_limiter_queue_depth']) assert.match(m, new RegExp(`^${name}\\{category="kite.orders"\\} \\d`, 'm'), name);
    assert.match(m, /^orch_limiter_wait_seconds_count\{category="kite.orders"\} [1-9]/m);
  } finally {
    await e.stop();
  }
});

test('a forged postback is refused with 400 and changes nothing; a genuine one is accepted', async () => {
  const e = await startWithSim({ yaml: strategyYaml('rester', { every: 5, maxOrders: 1, through: -2000 }) });
  try {
    const reply = await eventually(() => accepted(e.replies)[0], 'the resting order');
    const rec = await eventually(() => (e.sys.broker.book.get(reply.intentId)?.state === 'open' ? e.sys.broker.book.get(reply.intentId) : undefined), 'the order open in the book');
    const wire = e.sim.orders()[0]!;
    const forged = { ...wire, status: 'COMPLETE', filled_quantity: wire.quantity, pending_quantity: 0, average_price: 1, user_id: e.sim.credentials.userId, checksum: postbackChecksum(wire.order_id, wire.order_timestamp, 'not-the-secret') };
    const updates0 = e.updates.length;
    const res = await fetch(e.sys.kitePostbackUrl!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(forged) });
    assert.equal(res.status, 400);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(e.sys.broker.book.get(reply.intentId)!.state, 'open');
    assert.equal(e.sys.broker.book.get(reply.intentId)!.filledQty, 0);
    assert.equal(e.sys.broker.position('rester', 'NSE:INFY'), 0);
    assert.equal(e.updates.slice(updates0).filter((u) => u.intentId === rec.intentId && u.state === 'filled').length, 0);

    const genuine = { ...wire, user_id: e.sim.credentials.userId, checksum: postbackChecksum(wire.order_id, wire.order_timestamp, e.sim.credentials.apiSecret) };
    const ok = await fetch(e.sys.kitePostbackUrl!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(genuine) });
    assert.equal(ok.status, 200);
    const m = await metricsText(e.sys);
    assert.match(m, /^orch_kite_postbacks_total\{result="bad_checksum"\} [1-9]/m);
    assert.match(m, /^orch_kite_postbacks_total\{result="accepted"\} [1-9]/m);
  } finally {
    await e.stop();
  }
});
