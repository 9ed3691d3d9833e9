import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBucket, nextFreeAt, pause, settle, take, tightest, toMilli, validateSpec } from './window-log.ts';
import { kalshiLimits, kiteLimits, mergeLimits, resolveCategory, type LimitsConfig } from './limits.ts';

const T0 = 1_700_000_000_000;

test('a bucket grants exactly its limit inside one window and says when the next token frees', () => {
  const b = createBucket({ windows: [{ limit: 3, windowMs: 1000 }] });
  for (let i = 0; i < 3; i++) assert.deepEqual(take(b, T0 + i * 10, 1000), { ok: true, at: T0 + i * 10 });
  assert.deepEqual(take(b, T0 + 30, 1000), { ok: false, retryAt: T0 + 1000 });
  assert.deepEqual(take(b, T0 + 999, 1000), { ok: false, retryAt: T0 + 1000 });
  assert.deepEqual(take(b, T0 + 1000, 1000), { ok: true, at: T0 + 1000 });
  assert.deepEqual(take(b, T0 + 1000, 1000), { ok: false, retryAt: T0 + 1010 });
});

test('a failed take leaves the bucket untouched', () => {
  const b = createBucket({ windows: [{ limit: 1, windowMs: 1000 }, { limit: 2, windowMs: 60_000 }] });
  assert.equal(take(b, T0, 1000).ok, true);
  assert.equal(take(b, T0 + 1, 1000).ok, false);
  assert.deepEqual(tightest(b, T0 + 1), { availableMilli: 0, limitMilli: 1000 });
  assert.equal(take(b, T0 + 1000, 1000).ok, true);
  // the minute window is now full: the second window holds the next call until T0 + 60 s
  assert.deepEqual(take(b, T0 + 2000, 1000), { ok: false, retryAt: T0 + 60_000 });
});

test('every window must have room: orders stop at 200 per minute (configured) even at 10 per second', () => {
  const b = createBucket(resolveCategory(kiteLimits({ ordersPerMinute: 200 }), 'kite.orders')!.spec);
  let granted = 0;
  for (let ms = 0; ms < 60_000; ms += 100) if (take(b, T0 + ms, 1000).ok) granted++;
  assert.equal(granted, 200);
  assert.equal(nextFreeAt(b, T0 + 59_999, 1000), T0 + 60_000);
});

test('five 0.2-token batch-cancel items cost exactly one token', () => {
  const b = createBucket({ windows: [{ limit: 1, windowMs: 1000 }] });
  const fifth = toMilli(0.2);
  for (let i = 0; i < 5; i++) assert.equal(take(b, T0, fifth).ok, true, `item ${i}`);
  assert.equal(take(b, T0, toMilli(0.001)).ok, false);
  // 0.1 + 0.2 is not 0.3 in binary floating point; in milli-tokens it is
  assert.equal(toMilli(0.1) + toMilli(0.2), toMilli(0.3));
});

test('costs finer than a milli-token, zero or negative are refused', () => {
  assert.throws(() => toMilli(0.0001), RangeError);
  assert.throws(() => toMilli(0), RangeError);
  assert.throws(() => toMilli(-1), RangeError);
  assert.throws(() => toMilli(Number.NaN), RangeError);
});

test('a cost larger than the smallest window can never be granted', () => {
  const b = createBucket({ windows: [{ limit: 2, windowMs: 1000 }] });
  assert.equal(nextFreeAt(b, T0, 3000), Number.POSITIVE_INFINITY);
});

test('a pause holds the bucket even when tokens remain, and a shorter pause does not shorten it', () => {
  const b = createBucket({ windows: [{ limit: 10, windowMs: 1000 }] });
  pause(b, T0 + 5000);
  pause(b, T0 + 2000);
  assert.deepEqual(take(b, T0, 1000), { ok: false, retryAt: T0 + 5000 });
  assert.equal(tightest(b, T0).availableMilli, 0);
  assert.deepEqual(take(b, T0 + 5000, 1000), { ok: true, at: T0 + 5000 });
});

test('a clock stepping backwards cannot free tokens early', () => {
  const b = createBucket({ windows: [{ limit: 1, windowMs: 1000 }] });
  assert.equal(take(b, T0, 1000).ok, true);
  assert.deepEqual(take(b, T0 - 5000, 1000), { ok: false, retryAt: T0 + 1000 });
});

test('same-instant takes share one log entry so a burst does not grow the log', () => {
  const b = createBucket({ windows: [{ limit: 400, windowMs: 1000 }] });
  for (let i = 0; i < 400; i++) take(b, T0, 1000);
  assert.equal(b.windows[0]!.entries.length, 1);
  assert.equal(nextFreeAt(b, T0 + 1, 1000), T0 + 1000);
});

test('config validation names the offending field', () => {
  assert.throws(() => validateSpec('x', { windows: [] }), /limits\.x\.windows must not be empty/);
  assert.throws(() => validateSpec('x', { windows: [{ limit: 1, windowMs: 0 }] }), /limits\.x\.windows\[0\]\.windowMs/);
});

const windowsOf = (c: LimitsConfig, name: string) => resolveCategory(c, name)!.spec.windows;
const IST_DAY = { limit: 5_000, windowMs: 86_400_000, calendar: { offsetMs: -19_800_000 } };

test('kite and kalshi limits are the published numbers (docs/venues/kite.md) and merge without clashes', () => {
  const k = kiteLimits();
  assert.deepEqual(windowsOf(k, 'kite.orders'), [{ limit: 10, windowMs: 1000 }, { limit: 400, windowMs: 60_000 }, IST_DAY]);
  assert.deepEqual(k['kite.modify'], { countsAs: 'kite.other' }, 'modify and cancel count under all other endpoints');
  assert.deepEqual(windowsOf(k, 'kite.modify'), [{ limit: 10, windowMs: 1000 }]);
  assert.deepEqual(windowsOf(k, 'kite.quote'), [{ limit: 1, windowMs: 1000 }]);
  assert.deepEqual(windowsOf(k, 'kite.historical'), [{ limit: 3, windowMs: 1000 }]);
  assert.deepEqual(windowsOf(k, 'kite.other'), [{ limit: 10, windowMs: 1000 }]);
  // Kalshi in tokens (10 a request): reads one second of budget, writes two (Basic one)
  const tiers = { basic: [200, 100, 1000], advanced: [300, 600, 2000], premier: [1000, 2000, 2000], paragon: [2000, 4000, 2000], prime: [4000, 8000, 2000] } as const;
  for (const [tier, [read, write, writeMs]] of Object.entries(tiers)) {
    const c = kalshiLimits(tier as keyof typeof tiers);
    assert.deepEqual(windowsOf(c, 'kalshi.read'), [{ limit: read, windowMs: 1000 }], tier);
    assert.deepEqual(windowsOf(c, 'kalshi.write'), [{ limit: write, windowMs: writeMs }], tier);
  }
  assert.throws(() => kalshiLimits('gold' as never), /kalshi tier must be one of/);
  assert.equal(Object.keys(mergeLimits(k, kalshiLimits('basic'))).length, 7);
  assert.throws(() => mergeLimits(k, k), /defined twice/);
  assert.ok(Object.isFrozen(k) && Object.isFrozen(k['kite.orders']));
  assert.equal(windowsOf(kiteLimits({ guardMs: 25 }), 'kite.quote')[0]!.windowMs, 1025);
});

test('every kite figure is configurable: orders per minute and day, and modify/cancel in a window of their own', () => {
  const k = kiteLimits({ ordersPerMinute: 200, ordersPerDay: 3_000, modifyPerSecond: 25, otherPerSecond: 8 });
  assert.deepEqual(windowsOf(k, 'kite.orders'), [{ limit: 10, windowMs: 1000 }, { limit: 200, windowMs: 60_000 }, { ...IST_DAY, limit: 3_000 }]);
  assert.deepEqual(windowsOf(k, 'kite.modify'), [{ limit: 25, windowMs: 1000 }]);
  assert.deepEqual(windowsOf(k, 'kite.other'), [{ limit: 8, windowMs: 1000 }]);
  assert.deepEqual(kiteLimits({ ordersPerMinute: undefined }), kiteLimits(), 'an unset figure keeps its default');
});

test('a calendar window (orders per IST day) starts afresh at 00:00 IST, not 24 h after each order', () => {
  const day = { limit: 2, windowMs: 86_400_000, calendar: { offsetMs: -19_800_000 } };
  const b = createBucket({ windows: [day] });
  const istDay1At1500 = Date.UTC(2026, 11, 3, 9, 30); // 15:00 IST on 3 Dec
  assert.equal(take(b, istDay1At1500, 1000).ok, true);
  assert.equal(take(b, istDay1At1500 + 1, 1000).ok, true);
  const refused = take(b, istDay1At1500 + 2, 1000);
  assert.deepEqual(refused, { ok: false, retryAt: Date.UTC(2026, 11, 3, 18, 30) }, 'free again at midnight IST');
  // 09:15 IST the next morning: a sliding 24 h window would still hold yesterday's two orders.
  assert.equal(take(b, Date.UTC(2026, 11, 4, 3, 45), 1000).ok, true);
  assert.throws(() => validateSpec('d', { windows: [{ ...day, calendar: { offsetMs: 86_400_000 } }] }), /limits\.d\.windows\[0\]\.calendar\.offsetMs/);
});

test('a call answered late counts from its answer: a window after the answers, not after the sends', () => {
  const b = createBucket({ windows: [{ limit: 10, windowMs: 1000 }] });
  const at = T0;
  for (let i = 0; i < 10; i++) assert.equal(take(b, at, 1000).ok, true);
  // the ten answers come back spread over 40 ms: the venue counted each one somewhere before
  for (let i = 0; i < 10; i++) settle(b, at, T0 + 4 * (i + 1), 1000);
  assert.equal(nextFreeAt(b, T0 + 1000, 1000), T0 + 1004, 'the first slot frees a window after the first answer');
  assert.equal(nextFreeAt(b, T0 + 1000, 5000), T0 + 1020);
  assert.deepEqual(tightest(b, T0 + 1000), { availableMilli: 0, limitMilli: 10_000 });
});

test('settling moves only the settled call; a call in flight longer than its window counts again from its answer', () => {
  const b = createBucket({ windows: [{ limit: 2, windowMs: 1000 }, { limit: 5, windowMs: 60_000 }] });
  assert.equal(take(b, T0, 1000).ok, true);
  assert.equal(take(b, T0, 1000).ok, true);
  settle(b, T0, T0 + 10, 1000); // one answered, the other still in flight
  assert.equal(nextFreeAt(b, T0 + 500, 1000), T0 + 1000, 'the unanswered call still frees at its send + 1 s');
  assert.equal(take(b, T0 + 1000, 1000).ok, true);
  assert.equal(nextFreeAt(b, T0 + 1000, 1000), T0 + 1010);
  // the call in flight answers after 1.5 s: it may have arrived just now, so it counts again
  settle(b, T0, T0 + 1500, 1000);
  assert.equal(nextFreeAt(b, T0 + 1500, 1000), T0 + 2000);
  assert.equal(take(b, T0 + 2000, 1000).ok, true);
  assert.equal(take(b, T0 + 2499, 1000).ok, false, 'the 1.5 s answer holds its second until T0 + 2.5 s');
  // the minute window holds the late call once, not twice: 4 so far, a fifth fits, a sixth not
  assert.equal(take(b, T0 + 2500, 1000).ok, true, 'fifth in the minute');
  assert.equal(take(b, T0 + 3500, 1000).ok, false);
  assert.equal(nextFreeAt(b, T0 + 4000, 1000), T0 + 60_010, 'the minute window is full: frees when the first answered call leaves it');
});
