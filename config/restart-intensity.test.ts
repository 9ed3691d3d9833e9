import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addRestart, intensityExceeded } from './restart-intensity.ts';

const policy = { maxRestarts: 3, withinSeconds: 10 };
const window = policy.withinSeconds * 1000;

test('a strategy may restart maxRestarts times within the window, not once more', () => {
  let h: number[] = [];
  for (const t of [0, 1000, 2000]) {
    h = addRestart(h, t, window);
    assert.equal(intensityExceeded(h, policy), false, `restart at ${t} is allowed`);
  }
  h = addRestart(h, 3000, window);
  assert.equal(intensityExceeded(h, policy), true);
});

test('restarts older than the window are forgotten', () => {
  let h: number[] = [];
  for (const t of [0, 1000, 2000]) h = addRestart(h, t, window);
  h = addRestart(h, 10_500, window); // 0 has aged out
  assert.deepEqual(h, [1000, 2000, 10_500]);
  assert.equal(intensityExceeded(h, policy), false);
});

test('zero restarts allowed means the first crash is final', () => {
  const h = addRestart([], 0, window);
  assert.equal(intensityExceeded(h, { maxRestarts: 0, withinSeconds: 10 }), true);
});
