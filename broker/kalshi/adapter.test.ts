import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VenueError } from '../venue-errors.ts';
import { bookTick, kalshiState, toBookSide, toSide, toVenuePosition } from './adapter.ts';
import { fill, restFill, restOrder, setup, stored } from '../../test/support/kalshi-fake-port.ts';

test('BUY is a YES bid and SELL a YES ask, both ways', () => {
  assert.equal(toBookSide('BUY'), 'bid');
  assert.equal(toBookSide('SELL'), 'ask');
  assert.equal(toSide('bid'), 'BUY');
  assert.equal(toSide('ask'), 'SELL');
});

test('Kalshi order status and filled count map onto the broker states', () => {
  assert.equal(kalshiState('resting', 0, 300), 'open');
  assert.equal(kalshiState('resting', 100, 300), 'partially_filled');
  assert.equal(kalshiState('resting', 300, 300), 'filled');
  assert.equal(kalshiState('executed', 300, 300), 'filled');
  assert.equal(kalshiState('canceled', 0, 300), 'cancelled');
  assert.equal(kalshiState('canceled', 100, 300), 'cancelled');
});

test('a tick carries the top of book in hundredths of a cent, last = the mid rounded down', () => {
  const lvl = (price: number) => ({ price, size: 100 });
  assert.deepEqual(bookTick({ ticker: 'T', bid: lvl(4500), ask: lvl(4700), tsMs: 5 }), { symbol: 'T', ts: 5, last: 4600, bid: 4500, ask: 4700 });
  assert.deepEqual(bookTick({ ticker: 'T', bid: lvl(4500), ask: lvl(4510), tsMs: 5 }), { symbol: 'T', ts: 5, last: 4505, bid: 4500, ask: 4510 });
  assert.deepEqual(bookTick({ ticker: 'T', bid: lvl(4501), ask: lvl(4510), tsMs: 5 }), { symbol: 'T', ts: 5, last: 4505, bid: 4501, ask: 4510 });
  assert.deepEqual(bookTick({ ticker: 'T', bid: null, ask: lvl(300), tsMs: 5 }), { symbol: 'T', ts: 5, last: 300, ask: 300 });
  assert.deepEqual(bookTick({ ticker: 'T', bid: lvl(9900), ask: null, tsMs: 5 }), { symbol: 'T', ts: 5, last: 9900, bid: 9900 });
  assert.equal(bookTick({ ticker: 'T', bid: null, ask: null, tsMs: 5 }), undefined);
});

test('a position keeps its signed size in hundredths and derives the average price per contract', () => {
  assert.deepEqual(toVenuePosition({ ticker: 'T', position: 250, exposureMicros: 1_125_000, realizedPnlMicros: 0, feesPaidMicros: 0 }), { symbol: 'T', qty: 250, avgPrice: 4500 });
  assert.deepEqual(toVenuePosition({ ticker: 'T', position: -300, exposureMicros: 1_650_000, realizedPnlMicros: 0, feesPaidMicros: 0 }), { symbol: 'T', qty: -300, avgPrice: 5500 });
  assert.deepEqual(toVenuePosition({ ticker: 'T', position: 0, exposureMicros: 0, realizedPnlMicros: 12_000, feesPaidMicros: 5_612 }), { symbol: 'T', qty: 0, avgPrice: 0 });
});

test('an order goes out as a YES bid with the intent id as client_order_id and the integers unchanged', async () => {
  const { port, adapter, orders, intent } = setup();
  await adapter.start();
  intent('intentA', 'BUY', 300, 4500);
  const r = await adapter.place({ intentId: 'intentA', symbol: 'KXFED-26DEC-T4.00', side: 'BUY', qty: 300, orderType: 'LIMIT', limitPrice: 4500 }, 'place', stored);
  assert.deepEqual(port.placed, [{ ticker: 'KXFED-26DEC-T4.00', side: 'bid', price: 4500, count: 300, clientOrderId: 'intentA' }]);
  assert.deepEqual(r, { venueOrderId: 'o1' });
  assert.deepEqual(orders, [{
    venueOrderId: 'o1', intentId: 'intentA', symbol: 'KXFED-26DEC-T4.00', side: 'BUY', qty: 300, filledQty: 0, limitPrice: 4500,
    state: 'open', venueStatus: 'resting', ts: 1_700_000_000_000,
  }]);
});

test('a sell is a YES ask, and an order found by client_order_id after a timeout is flagged as the same order', async () => {
  const { port, adapter } = setup();
  await adapter.start();
  port.nextPlace = async (a) => ({ orderId: 'o9', clientOrderId: a.clientOrderId, filledCount: 0, remainingCount: a.count, recovered: true });
  const r = await adapter.place({ intentId: 'intentS', symbol: 'T', side: 'SELL', qty: 150, orderType: 'LIMIT', limitPrice: 5600 }, 'place', stored);
  assert.equal(port.placed[0]!.side, 'ask');
  assert.deepEqual(r, { venueOrderId: 'o9', duplicate: true });
});

test('a market order is refused before anything reaches Kalshi', async () => {
  const { port, adapter } = setup();
  await adapter.start();
  await assert.rejects(adapter.place({ intentId: 'm1', symbol: 'T', side: 'BUY', qty: 100, orderType: 'MARKET' }, 'place', stored),
    (e: unknown) => e instanceof VenueError && e.kind === 'InputException');
  assert.equal(port.placed.length, 0);
});

test('a taker fill pushed before the create response and the create response count the fill once', async () => {
  const { port, adapter, orders, intent, brokerFills, book } = setup();
  await adapter.start();
  intent('intentA', 'BUY', 300, 4600);
  port.nextPlace = async (a) => {
    // The exchange matched at once: the fill channel speaks before the HTTP answer arrives.
    port.push('fill', fill({ tradeId: 't1', count: 200, price: 4500 }));
    return { orderId: 'o1', clientOrderId: a.clientOrderId, filledCount: 200, remainingCount: 100, recovered: false };
  };
  await adapter.place({ intentId: 'intentA', symbol: 'KXFED-26DEC-T4.00', side: 'BUY', qty: 300, orderType: 'LIMIT', limitPrice: 4600 }, 'place', stored);
  assert.deepEqual(orders.map((o) => [o.filledQty, o.state, o.avgPrice]), [[200, 'partially_filled', 4500], [200, 'partially_filled', 4500]]);
  assert.deepEqual(brokerFills, [{ fillId: 'o1:200', qty: 200, price: 4500 }]);
  assert.equal(book.get('intentA')!.venueOrderId, 'o1');
});

test('fills from the socket and from REST end in one cumulative state, never added twice', async () => {
  const { port, adapter, orders, intent, brokerFills } = setup();
  await adapter.start();
  intent('intentA', 'BUY', 300, 4500);
  await adapter.place({ intentId: 'intentA', symbol: 'KXFED-26DEC-T4.00', side: 'BUY', qty: 300, orderType: 'LIMIT', limitPrice: 4500 }, 'place', stored);
  port.push('fill', fill({ tradeId: 't1', count: 100, price: 4500 }));
  port.push('fill', fill({ tradeId: 't1', count: 100, price: 4500 })); // redelivered
  // The socket drops; t2 happens unseen; REST knows 200 filled and lists both trades.
  port.resting = [restOrder({ filledCount: 200, remainingCount: 100 })];
  port.fills.set('o1', [restFill('t1', 100, 4500), restFill('t2', 100, 4400)]);
  for (const o of await adapter.orders()) adapter['events'].emit('order', o);
  // t2 arrives late from the socket, then t3 is new.
  port.push('fill', fill({ tradeId: 't2', count: 100, price: 4400 }));
  port.push('fill', fill({ tradeId: 't3', count: 100, price: 4300 }));
  assert.deepEqual(orders.map((o) => o.filledQty), [0, 100, 200, 300]);
  assert.equal(orders.at(-1)!.state, 'filled');
  assert.equal(orders.at(-1)!.avgPrice, 4400);
  assert.deepEqual(brokerFills, [
    { fillId: 'o1:100', qty: 100, price: 4500 },
    { fillId: 'o1:200', qty: 100, price: 4400 },
    { fillId: 'o1:300', qty: 100, price: 4300 },
  ]);
});

test('a REST fill count above the trades seen fetches that order\'s trades; none are fetched otherwise', async () => {
  const { port, adapter } = setup();
  await adapter.start();
  await adapter.place({ intentId: 'intentA', symbol: 'KXFED-26DEC-T4.00', side: 'BUY', qty: 300, orderType: 'LIMIT', limitPrice: 4500 }, 'place', stored);
  port.resting = [restOrder({})];
  port.reads = 0;
  await adapter.orders();
  assert.equal(port.reads, 1);
  port.resting = [restOrder({ filledCount: 150, remainingCount: 150 })];
  port.fills.set('o1', [restFill('t1', 150, 4500)]);
  port.reads = 0;
  const [o] = await adapter.orders();
  assert.equal(port.reads, 2);
  assert.deepEqual([o!.filledQty, o!.avgPrice, o!.state], [150, 4500, 'partially_filled']);
});

test('an order that left the resting list is read by id, so a fill missed while down is found', async () => {
  const { port, adapter, intent, brokerFills } = setup();
  await adapter.start();
  intent('intentA', 'BUY', 300, 4500);
  await adapter.place({ intentId: 'intentA', symbol: 'KXFED-26DEC-T4.00', side: 'BUY', qty: 300, orderType: 'LIMIT', limitPrice: 4500 }, 'place', stored);
  port.resting = [];
  port.byId.set('o1', restOrder({ status: 'executed', filledCount: 300, remainingCount: 0 }));
  port.fills.set('o1', [restFill('t7', 300, 4500)]);
  const out = await adapter.orders();
  assert.deepEqual(out.map((o) => [o.venueOrderId, o.state, o.filledQty, o.avgPrice]), [['o1', 'filled', 300, 4500]]);
  for (const o of out) adapter['events'].emit('order', o);
  assert.deepEqual(brokerFills, [{ fillId: 'o1:300', qty: 300, price: 4500 }]);
});

test('after a restart, an order that filled while the broker was down is found from the history, and none of it is lost', async () => {
  // A fresh adapter (a restart): no memory of any order; the log knows o1 (bound) and intentB (write in flight, no answer).
  const { port, adapter } = setup();
  await adapter.start();
  port.resting = [];
  const executed = restOrder({ orderId: 'o1', clientOrderId: 'intentA', status: 'executed', filledCount: 300, remainingCount: 0 });
  const landed = restOrder({ orderId: 'o2', clientOrderId: 'intentB', status: 'executed', filledCount: 100, remainingCount: 0, initialCount: 100 });
  port.byId.set('o1', executed);
  port.byId.set('o2', landed);
  port.history = [{ order: landed, ts: 1_700_000_100 }];
  port.tradeLog = [{ fill: { ...restFill('t1', 300, 4500) }, ts: 1_700_000_050 }, { fill: { ...restFill('t2', 100, 4400), orderId: 'o2', clientOrderId: 'intentB' }, ts: 1_700_000_100 }];
  port.fills.set('o1', [restFill('t1', 300, 4500)]);
  port.fills.set('o2', [{ ...restFill('t2', 100, 4400), orderId: 'o2', clientOrderId: 'intentB' }]);

  // Today's read, with no history: the resting list is empty and the adapter remembers nothing.
  assert.deepEqual(await adapter.orders(), [], 'without the history both fills are invisible');

  const out = await adapter.orders({ sinceMs: 1_700_000_000_000, open: [{ intentId: 'intentA', venueOrderId: 'o1' }, { intentId: 'intentB' }] });
  assert.deepEqual(port.sinceAsked, [1_700_000_000]);
  assert.deepEqual(
    out.map((o) => [o.venueOrderId, o.intentId, o.state, o.filledQty, o.avgPrice]).sort(),
    [['o1', 'intentA', 'filled', 300, 4500], ['o2', 'intentB', 'filled', 100, 4400]],
  );
});

test('an unfinished order of the log that the venue does not know is left out (reported missing), not an error', async () => {
  const { adapter } = setup();
  await adapter.start();
  const out = await adapter.orders({ sinceMs: 1_700_000_000_000, open: [{ intentId: 'intentZ', venueOrderId: 'gone' }] });
  assert.deepEqual(out, []);
});

test("another app's client_order_id is not taken for ours: only intent ids from the log or placed here are", async () => {
  const { port, adapter } = setup();
  await adapter.start();
  adapter.rememberIntent('fromTheLog');
  port.resting = [
    restOrder({ orderId: 'o7', clientOrderId: 'fromTheLog' }),
    restOrder({ orderId: 'o8', clientOrderId: '3f1c9a2e-other-app' }),
    restOrder({ orderId: 'o9', clientOrderId: '' }),
  ];
  const out = await adapter.orders();
  assert.deepEqual(out.map((o) => [o.venueOrderId, o.intentId]), [['o7', 'fromTheLog'], ['o8', undefined], ['o9', undefined]]);
});

test('a failed create leaves nothing behind that a stray fill could attach to', async () => {
  const { port, adapter, orders } = setup();
  await adapter.start();
  port.nextPlace = async () => { throw new VenueError({ venue: 'kalshi', kind: 'OrderException', message: 'invalid_order' }); };
  await assert.rejects(adapter.place({ intentId: 'intentA', symbol: 'T', side: 'BUY', qty: 100, orderType: 'LIMIT', limitPrice: 4500 }, 'place', stored));
  port.push('fill', fill({ tradeId: 'tx', count: 100, price: 4500 }));
  assert.equal(orders.length, 0);
});

test('a cancel is sent with kill priority when the kill switch asks, and reports the order cancelled', async () => {
  const { port, adapter, orders } = setup();
  await adapter.start();
  await adapter.place({ intentId: 'intentA', symbol: 'T', side: 'BUY', qty: 100, orderType: 'LIMIT', limitPrice: 4500 }, 'place', stored);
  await adapter.cancel('o1', 'kill');
  await adapter.cancel('o1');
  assert.deepEqual(port.cancelled, [{ id: 'o1', kill: true }, { id: 'o1', kill: false }]);
  assert.equal(orders.at(-1)!.state, 'cancelled');
});

test('book subscriptions follow the wanted set; a market Kalshi refuses is dropped, not retried forever', async () => {
  const { port, adapter } = setup();
  await adapter.start();
  port.badTickers.add('NOPE');
  await adapter.setInstruments(['A', 'B', 'NOPE']);
  await adapter.setInstruments(['B', 'C']);
  assert.deepEqual(port.subs, ['+A', '+B', '+NOPE', '-NOPE', '-A', '+C']);
});

test('ticks come from the snapshot on, only for wanted markets and only when the top of book changes', async () => {
  const { port, adapter, ticks } = setup();
  await adapter.start();
  await adapter.setInstruments(['A']);
  const top = (ticker: string, bid: number, ask: number, size = 100) =>
    port.push('book', { ticker, bid: { price: bid, size }, ask: { price: ask, size }, tsMs: 7 });
  top('A', 4500, 4700);
  top('A', 4500, 4700); // a change deeper in the book
  top('A', 4500, 4700, 900); // size at the touch
  top('B', 1000, 2000);
  top('A', 4600, 4700, 900);
  assert.deepEqual(ticks, [
    { symbol: 'A', ts: 1, last: 4100, bid: 4000, ask: 4200 }, // the snapshot
    { symbol: 'A', ts: 7, last: 4600, bid: 4500, ask: 4700 },
    { symbol: 'A', ts: 7, last: 4600, bid: 4500, ask: 4700 },
    { symbol: 'A', ts: 7, last: 4650, bid: 4600, ask: 4700 },
  ]);
});

test('disconnect, reconnect and reconcile pass through, and connected() follows the socket', async () => {
  const { port, adapter, events } = setup();
  await adapter.start();
  assert.equal(adapter.connected(), true);
  port.live = false;
  port.push('disconnected', { reason: 'close', atMs: 1 });
  assert.equal(adapter.connected(), false);
  port.live = true;
  port.push('reconnected', { attempts: 1, downtimeMs: 1000 });
  port.push('reconcile', { reason: 'reconnect' });
  assert.deepEqual(events, ['disconnected:close', 'reconnected', 'reconcile']);
});

test('with orders resting and the fill channel quiet, REST is polled on the clock', async () => {
  const { clock, port, adapter, orders } = setup();
  await adapter.start();
  await clock.advance(3000);
  assert.equal(port.reads, 0, 'nothing resting: no polling');
  await adapter.place({ intentId: 'intentA', symbol: 'KXFED-26DEC-T4.00', side: 'BUY', qty: 300, orderType: 'LIMIT', limitPrice: 4500 }, 'place', stored);
  port.resting = [restOrder({ filledCount: 300, remainingCount: 0, status: 'resting' })];
  port.fills.set('o1', [restFill('t1', 300, 4500)]);
  await clock.advance(1000);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual([orders.at(-1)!.state, orders.at(-1)!.filledQty], ['filled', 300]);
  await adapter.stop();
});

test('nothing is sent before the write-ahead is stored, and nothing at all if it fails', async () => {
  const { port, adapter, intent } = setup();
  await adapter.start();
  intent('intentA', 'BUY', 300, 4500);
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const placing = adapter.place({ intentId: 'intentA', symbol: 'T', side: 'BUY', qty: 300, orderType: 'LIMIT', limitPrice: 4500 }, 'place', gate);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(port.placed, [], 'held until the log holds the write');
  release();
  await placing;
  assert.equal(port.placed.length, 1);
  const refused = new Error('log down');
  await assert.rejects(adapter.place({ intentId: 'intentB', symbol: 'T', side: 'BUY', qty: 100, orderType: 'LIMIT', limitPrice: 4500 }, 'place', Promise.reject(refused)), (e) => e === refused);
  assert.equal(port.placed.length, 1, 'the second order never left');
});

test('a modify amends the same order (new price, new total count) and reports it at its new shape', async () => {
  const { port, adapter, orders, book, intent } = setup();
  intent('intentA', 'BUY', 300, 4500);
  await adapter.place({ intentId: 'intentA', symbol: 'KXFED-26DEC-T4.00', side: 'BUY', qty: 300, orderType: 'LIMIT', limitPrice: 4500 }, 'place', stored);
  await adapter.modify({ venueOrderId: 'o1', symbol: 'KXFED-26DEC-T4.00', side: 'BUY', orderType: 'LIMIT', qty: 500, limitPrice: 4600 });
  assert.deepEqual(port.amended, [{ id: 'o1', ticker: 'KXFED-26DEC-T4.00', side: 'bid', price: 4600, count: 500 }]);
  assert.equal(port.placed.length, 1, 'no second order');
  assert.deepEqual([orders.at(-1)?.qty, orders.at(-1)?.limitPrice, orders.at(-1)?.state], [500, 4600, 'open']);
  assert.equal(book.open().length, 1);
});

test('an amend whose answer is lost is looked up: landed is success, not landed fails, and it is never sent twice', async () => {
  const { port, adapter } = setup();
  await adapter.place({ intentId: 'intentA', symbol: 'KXFED-26DEC-T4.00', side: 'BUY', qty: 300, orderType: 'LIMIT', limitPrice: 4500 }, 'place', stored);
  const lost = new VenueError({ venue: 'kalshi', kind: 'Timeout', message: 'timed out after 2000 ms' });
  port.nextAmend = async () => { port.byId.set('o1', restOrder({ price: 4600, initialCount: 500, remainingCount: 500 })); throw lost; };
  await adapter.modify({ venueOrderId: 'o1', symbol: 'KXFED-26DEC-T4.00', side: 'BUY', orderType: 'LIMIT', qty: 500, limitPrice: 4600 });
  assert.equal(port.amended.length, 1, 'found at the venue: not sent again');
  port.nextAmend = async () => { throw lost; };
  await assert.rejects(adapter.modify({ venueOrderId: 'o1', symbol: 'KXFED-26DEC-T4.00', side: 'BUY', orderType: 'LIMIT', qty: 500, limitPrice: 4700 }), /timed out/);
  assert.equal(port.amended.length, 2, 'not landed: the broker is told, the adapter does not resend');
});
