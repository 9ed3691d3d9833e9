import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrderBook } from './order-book.ts';
import type { VenueOrder } from './venue.ts';

const intent = { action: 'place' as const, intentId: 'i1', strategyId: 's1', ts: 0, venue: 'kite' as const, symbol: 'NSE:INFY', side: 'BUY' as const, qty: 10, orderType: 'LIMIT' as const, limitPrice: 150_000 };
const report = (over: Partial<VenueOrder>): VenueOrder => ({ venueOrderId: 'V1', intentId: 'i1', symbol: 'NSE:INFY', side: 'BUY', qty: 10, filledQty: 0, state: 'open', venueStatus: 'OPEN', ts: 1, ...over });

test('a fill reported by two paths is counted once', () => {
  const b = new OrderBook();
  b.register(intent, 0);
  b.bind('i1', 'V1');
  const first = b.apply(report({ filledQty: 4, avgPrice: 150_000, state: 'partially_filled' }));
  const again = b.apply(report({ filledQty: 4, avgPrice: 150_000, state: 'partially_filled' }));
  assert.equal(first?.fill?.qty, 4);
  assert.equal(again?.fill, undefined);
  assert.equal(again?.changed, false);
});

test('fill prices are derived exactly from the change in average price', () => {
  const b = new OrderBook();
  b.register(intent, 0);
  b.bind('i1', 'V1');
  b.apply(report({ filledQty: 4, avgPrice: 150_000, state: 'partially_filled' }));
  const r = b.apply(report({ filledQty: 10, avgPrice: 150_060, state: 'filled', venueStatus: 'COMPLETE' }));
  // 4 @ 150000 + 6 @ p = 10 @ 150060  →  p = 150100
  assert.deepEqual(r?.fill, { fillId: 'V1:10', qty: 6, price: 150_100, ts: 1 });
  assert.equal(r?.record.state, 'filled');
});

test('a stale report never moves an order backwards', () => {
  const b = new OrderBook();
  b.register(intent, 0);
  b.bind('i1', 'V1');
  b.apply(report({ filledQty: 10, avgPrice: 150_000, state: 'filled', venueStatus: 'COMPLETE' }));
  const stale = b.apply(report({ filledQty: 0, state: 'open', venueStatus: 'OPEN' }));
  assert.equal(stale?.changed, false);
  assert.equal(stale?.record.state, 'filled');
  assert.equal(stale?.record.filledQty, 10);
});

test('an update that arrives before the venue id is bound finds its order by intent id', () => {
  const b = new OrderBook();
  b.register(intent, 0);
  const r = b.apply(report({ state: 'open' }));
  assert.equal(r?.record.venueOrderId, 'V1');
  assert.equal(b.byVenueOrderId('V1')?.intentId, 'i1');
});

test('a report for an order that is not ours is not applied', () => {
  const b = new OrderBook();
  assert.equal(b.apply(report({ intentId: undefined as never, venueOrderId: 'X' })), undefined);
});

test('an order we marked rejected after an unknown write outcome comes back to life when the venue reports it, so cancelAll can reach it', () => {
  const book = new OrderBook();
  book.register({ action: 'place', intentId: 'lost1', strategyId: 's', ts: 0, venue: 'kite', symbol: 'NSE:INFY', side: 'BUY', qty: 2, orderType: 'LIMIT', limitPrice: 100 }, 0);
  book.reject('lost1', 'outcome unknown after Timeout; lookup failed', 1);
  assert.equal(book.open('s').length, 0);
  const r = book.apply({ venueOrderId: 'V9', intentId: 'lost1', symbol: 'NSE:INFY', side: 'BUY', qty: 2, filledQty: 0, state: 'open', venueStatus: 'OPEN', ts: 2 });
  assert.equal(r?.changed, true);
  assert.equal(book.get('lost1')!.state, 'open');
  assert.deepEqual(book.open('s').map((o) => o.venueOrderId), ['V9']);
});
