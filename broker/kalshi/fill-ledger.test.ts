import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FillLedger } from './fill-ledger.ts';

test('the same trade reported twice is counted once', () => {
  const l = new FillLedger();
  assert.equal(l.trade('o', 't1', { count: 150, price: 4500 }), true);
  assert.equal(l.trade('o', 't1', { count: 150, price: 4500 }), false);
  assert.equal(l.filled('o'), 150);
});

test('a cumulative count is a floor, not an addition', () => {
  const l = new FillLedger();
  l.trade('o', 't1', { count: 100, price: 4500 });
  l.cumulative('o', 250);
  assert.equal(l.filled('o'), 250);
  assert.equal(l.missingTrades('o'), true);
  l.trade('o', 't2', { count: 150, price: 4600 }); // the unseen trade turns up
  assert.equal(l.filled('o'), 250);
  assert.equal(l.missingTrades('o'), false);
  l.cumulative('o', 100); // an older REST view lowers nothing
  assert.equal(l.filled('o'), 250);
});

test('the average price is exact in integers, rounded half up', () => {
  const l = new FillLedger();
  assert.equal(l.avgPrice('o'), undefined);
  l.trade('o', 'a', { count: 100, price: 4500 });
  l.trade('o', 'b', { count: 100, price: 4501 });
  assert.equal(l.avgPrice('o'), 4501); // 4500.5 → 4501
  l.trade('o', 'c', { count: 200, price: 4500 });
  assert.equal(l.avgPrice('o'), 4500); // 4500.25
});

test('orders are kept apart and forgotten on request', () => {
  const l = new FillLedger();
  l.trade('o1', 't', { count: 100, price: 1 });
  l.trade('o2', 't', { count: 300, price: 1 });
  assert.deepEqual([l.filled('o1'), l.filled('o2')], [100, 300]);
  l.forget('o1');
  assert.equal(l.filled('o1'), 0);
});
