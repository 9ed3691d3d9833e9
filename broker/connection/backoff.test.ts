import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffCeiling, nextBackoff, RECONNECT_BACKOFF, REQUEST_BACKOFF } from './backoff.ts';
import { mulberry32 } from '../../actors/prng.ts';

test('the ceiling doubles from the base and stops at the cap', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 100].map((a) => backoffCeiling(a, REQUEST_BACKOFF)), [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((a) => backoffCeiling(a, RECONNECT_BACKOFF)), [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  assert.equal(backoffCeiling(-3, REQUEST_BACKOFF), 250, 'a negative attempt counts as the first');
});

test('full jitter: every wait lies in [0, ceiling), and the draws cover the whole range', () => {
  const random = mulberry32(42);
  for (const attempt of [0, 2, 5, 9]) {
    const ceiling = backoffCeiling(attempt, RECONNECT_BACKOFF);
    const waits = Array.from({ length: 2_000 }, () => nextBackoff(attempt, random, RECONNECT_BACKOFF));
    for (const w of waits) assert.ok(Number.isInteger(w) && w >= 0 && w < ceiling, `${w} outside [0, ${ceiling})`);
    // Spread over the range, not bunched near the step (±20 % jitter would leave the low part empty).
    assert.ok(Math.min(...waits) < ceiling * 0.1 && Math.max(...waits) > ceiling * 0.9, `attempt ${attempt}`);
  }
});

test('the wait is the random draw scaled to the ceiling, so a fixed source gives a fixed schedule', () => {
  assert.equal(nextBackoff(3, () => 0), 0);
  assert.equal(nextBackoff(3, () => 0.5), 1_000);
  assert.equal(nextBackoff(3, () => 0.999_999), 1_999);
  assert.equal(nextBackoff(1, () => 0.5, { baseMs: 100, capMs: 150 }), 75);
});
