import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fill, orderPush, restFill, restOrder, setup, stored } from '../../test/support/kalshi-fake-port.ts';

/**
 * The user_orders channel: every order of the account as it changes at Kalshi, whoever changed
 * it (docs/venues/kalshi.md, "User orders"). An order of ours changed or cancelled outside orch
 * (the website, another API client) is known while the broker runs, from the push alone.
 */
const MARKET = 'KXFED-26DEC-T4.00';

async function resting(opts: Parameters<typeof setup>[0] = {}) {
  const s = setup(opts);
  await s.adapter.start();
  s.intent('intentA', 'BUY', 300, 4500);
  await s.adapter.place({ intentId: 'intentA', symbol: MARKET, side: 'BUY', qty: 300, orderType: 'LIMIT', limitPrice: 4500 }, 'place', stored);
  return s;
}

test('an order of ours cancelled at the venue by another client is cancelled here on its push, with no REST read, and the update says orch did not cancel it', async () => {
  const { port, orders, book } = await resting();
  const reads = port.reads;
  port.push('userOrder', orderPush({ status: 'canceled', remainingCount: 0 }));
  const last = orders.at(-1)!;
  assert.deepEqual([last.venueOrderId, last.state, last.filledQty], ['o1', 'cancelled', 0]);
  assert.match(last.message ?? '', /not by orch/);
  assert.equal(book.get('intentA')?.state, 'cancelled', 'the broker\'s book, hence the strategy, follows');
  assert.equal(port.reads, reads, 'the push alone: no poll, no REST read');
});

test('an order of ours decreased, then amended, at the venue takes the venue\'s shape at once (the broker has reconciliation judge it)', async () => {
  const { clock, port, orders, book, events } = await resting();
  port.push('userOrder', orderPush({ remainingCount: 100, reason: 'Decrease' }));
  assert.deepEqual([orders.at(-1)!.qty, orders.at(-1)!.limitPrice, orders.at(-1)!.state], [100, 4500, 'open'], 'a decrease lowers the most it can fill');
  port.push('userOrder', orderPush({ price: 4400, remainingCount: 200, initialCount: 200, reason: 'Amend' }));
  assert.deepEqual([orders.at(-1)!.qty, orders.at(-1)!.limitPrice], [200, 4400]);
  const rec = book.get('intentA')!;
  assert.deepEqual([rec.qty, rec.limitPrice], [200, 4400]);
  await clock.advance(2_000);
  assert.deepEqual(events, [], 'an order of ours: the broker judges its shape against what orch asked for (OrderUpdates)');
});

test('the push of our own amend or our own cancel asks for no reconciliation and says nothing of another client', async () => {
  const { clock, port, adapter, orders, events } = await resting();
  port.nextAmend = async () => {
    // Kalshi may push the change before the amend's answer arrives.
    port.push('userOrder', orderPush({ price: 4600, remainingCount: 400, initialCount: 400, reason: 'Amend' }));
    return { order_id: 'o1' };
  };
  await adapter.modify({ venueOrderId: 'o1', symbol: MARKET, side: 'BUY', orderType: 'LIMIT', qty: 400, limitPrice: 4600 });
  assert.deepEqual([orders.at(-1)!.qty, orders.at(-1)!.limitPrice], [400, 4600]);
  port.cancelOrder = async (id: string) => {
    port.push('userOrder', orderPush({ price: 4600, remainingCount: 0, initialCount: 400, status: 'canceled' }));
    return { orderId: id, reducedBy: 400 };
  };
  await adapter.cancel('o1');
  assert.ok(orders.filter((o) => o.state === 'cancelled').every((o) => o.message === undefined), JSON.stringify(orders.at(-1)));
  await clock.advance(2_000);
  assert.deepEqual(events, []);
});

test('an order update that shows fills waits for their trades from the fill channel, so the fill is booked at the trade\'s price', async () => {
  const { port, orders, brokerFills } = await resting();
  port.push('userOrder', orderPush({ filledCount: 100, remainingCount: 200, reason: 'Trade' }));
  assert.ok(orders.every((o) => o.filledQty === 0), 'no fill without its price');
  port.push('fill', fill({ tradeId: 't1', count: 100, price: 4400 }));
  assert.deepEqual([orders.at(-1)!.filledQty, orders.at(-1)!.avgPrice, orders.at(-1)!.state], [100, 4400, 'partially_filled']);
  assert.deepEqual(brokerFills.map((f) => [f.qty, f.price]), [[100, 4400]]);
});

test('when the fill channel never brings those trades, they are read over REST after fillWaitMs', async () => {
  // No poll within the test: the update itself leads to the read.
  const { clock, port, brokerFills, orders } = await resting({ pollIntervalMs: 60_000 });
  port.byId.set('o1', restOrder({ status: 'executed', filledCount: 300, remainingCount: 0 }));
  port.fills.set('o1', [restFill('t9', 300, 4450)]);
  port.push('userOrder', orderPush({ status: 'executed', filledCount: 300, remainingCount: 0, reason: 'Trade' }));
  assert.equal(brokerFills.length, 0);
  await clock.advance(1_000);
  assert.deepEqual(brokerFills.map((f) => [f.qty, f.price]), [[300, 4450]]);
  assert.equal(orders.at(-1)!.state, 'filled');
});

test('an order or a fill orch did not place is reported by no order update; it asks for a reconciliation, which reports it', async () => {
  const { clock, port, orders, events } = await resting();
  const before = orders.length;
  port.push('userOrder', orderPush({ orderId: 'x9', clientOrderId: 'by-hand', price: 3000 }));
  port.push('fill', fill({ orderId: 'x9', clientOrderId: 'by-hand', tradeId: 'tx', count: 100, price: 3000 }));
  assert.equal(orders.length, before);
  await clock.advance(500);
  assert.deepEqual(events, ['reconcile:venue_update']);
});

test('an order in a state Kalshi calls unknown is read over REST', async () => {
  const { port, orders } = await resting();
  port.byId.set('o1', restOrder({ status: 'canceled', remainingCount: 0 }));
  port.push('userOrder', orderPush({ status: 'unknown' }));
  await new Promise((r) => setImmediate(r));
  assert.equal(orders.at(-1)!.state, 'cancelled');
});

test('a REST read (the poll, reconciliation) takes the venue\'s shape of a resting order too, not the one it was placed at', async () => {
  const { port, adapter } = await resting();
  port.resting = [restOrder({ price: 4400, remainingCount: 100, initialCount: 300 })];
  const [o] = await adapter.orders();
  assert.deepEqual([o!.qty, o!.limitPrice, o!.state], [100, 4400, 'open']);
});
