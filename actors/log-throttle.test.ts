import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogThrottle } from './log-throttle.ts';

test('the first lines of a window are logged, the rest counted and told with the first line of the next window', () => {
  const th = new LogThrottle({ perWindow: 3, windowMs: 1_000 });
  const logged = Array.from({ length: 10 }, (_, i) => th.take('a', i).log);
  assert.deepEqual(logged, [true, true, true, false, false, false, false, false, false, false]);
  const next = th.take('a', 1_000);
  assert.deepEqual(next, { log: true, suppressedBefore: 7, windowMs: 1_000 });
});

test('keys are thinned apart: one flooding strategy does not silence another', () => {
  const th = new LogThrottle({ perWindow: 1, windowMs: 1_000 });
  assert.equal(th.take('flood', 0).log, true);
  assert.equal(th.take('flood', 1).log, false);
  assert.equal(th.take('calm', 2).log, true);
});

test('drain tells what was not logged and starts over', () => {
  const th = new LogThrottle({ perWindow: 1, windowMs: 1_000 });
  for (let i = 0; i < 4; i++) th.take('a', i);
  th.take('b', 0);
  assert.deepEqual(th.drain(), [{ key: 'a', suppressed: 3 }]);
  assert.deepEqual(th.drain(), []);
  assert.equal(th.take('a', 5).log, true);
});

test('options are checked by name', () => {
  assert.throws(() => new LogThrottle({ perWindow: 0 }), /perWindow/);
  assert.throws(() => new LogThrottle({ windowMs: 0 }), /windowMs/);
});
