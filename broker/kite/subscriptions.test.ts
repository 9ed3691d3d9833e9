import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubscriptionBook } from './subscriptions.ts';

test('a new instrument is subscribed and its mode set in one change', () => {
  const b = new SubscriptionBook();
  assert.deepEqual(b.add([408065, 884737], 'quote'), [{ conn: 0, subscribe: [408065, 884737], unsubscribe: [], modes: [['quote', [408065, 884737]]] }]);
});

test('the highest mode any strategy wants wins, and falls back when that strategy leaves', () => {
  const b = new SubscriptionBook();
  b.add([1], 'ltp');
  assert.deepEqual(b.add([1], 'full'), [{ conn: 0, subscribe: [], unsubscribe: [], modes: [['full', [1]]] }]);
  assert.deepEqual(b.add([1], 'quote'), [], 'quote under full changes nothing on the wire');
  assert.equal(b.modeOf(1), 'full');
  assert.deepEqual(b.remove([1], 'full'), [{ conn: 0, subscribe: [], unsubscribe: [], modes: [['quote', [1]]] }]);
  assert.deepEqual(b.remove([1], 'quote'), [{ conn: 0, subscribe: [], unsubscribe: [], modes: [['ltp', [1]]] }]);
  assert.deepEqual(b.remove([1], 'ltp'), [{ conn: 0, subscribe: [], unsubscribe: [1], modes: [] }]);
  assert.equal(b.modeOf(1), undefined);
});

test('an instrument stays subscribed until its last reference goes', () => {
  const b = new SubscriptionBook();
  b.add([1], 'quote');
  b.add([1], 'quote');
  assert.deepEqual(b.remove([1], 'quote'), []);
  assert.equal(b.modeOf(1), 'quote');
  assert.deepEqual(b.remove([1], 'quote')[0]!.unsubscribe, [1]);
});

test('removing what was never added is ignored', () => {
  const b = new SubscriptionBook();
  b.add([1], 'ltp');
  assert.deepEqual(b.remove([1], 'full'), []);
  assert.deepEqual(b.remove([2], 'ltp'), []);
  assert.equal(b.modeOf(1), 'ltp');
});

test('instruments spill over to a second and third socket of at most 3000 each', () => {
  const b = new SubscriptionBook();
  const tokens = Array.from({ length: 7000 }, (_, i) => i + 1);
  const ch = b.add(tokens, 'ltp');
  assert.deepEqual(ch.map((c) => [c.conn, c.subscribe.length]), [[0, 3000], [1, 3000], [2, 1000]]);
  assert.equal(b.connectionsInUse(), 3);
  assert.equal(b.connectionOf(3001), 1);
  b.remove(tokens.slice(0, 10), 'ltp');
  assert.equal(b.add([99_999], 'ltp')[0]!.conn, 0, 'freed slots are reused');
});

test('more than 3 × 3000 instruments is refused without changing anything', () => {
  const b = new SubscriptionBook();
  b.add(Array.from({ length: 8999 }, (_, i) => i + 1), 'ltp');
  assert.throws(() => b.add([100_001, 100_002], 'ltp'), /exceed/);
  assert.equal(b.size(), 8999);
  assert.equal(b.modeOf(100_001), undefined);
  b.add([100_001], 'ltp');
  assert.equal(b.size(), 9000);
  assert.doesNotThrow(() => b.add([1], 'full'), 'an existing instrument needs no new slot');
});

test('what to resend after a reconnect: every token of that socket, grouped by its mode', () => {
  const b = new SubscriptionBook(2, 3);
  b.add([1, 2, 3], 'ltp');
  b.add([2], 'full');
  b.add([3], 'quote');
  assert.deepEqual(b.byMode(0), [['full', [2]], ['ltp', [1]]]);
  assert.deepEqual(b.byMode(1), [['quote', [3]]]);
});

test('bad tokens are refused', () => {
  assert.throws(() => new SubscriptionBook().add([0], 'ltp'), /bad instrument/);
  assert.throws(() => new SubscriptionBook().add([1.5], 'ltp'), /bad instrument/);
});
