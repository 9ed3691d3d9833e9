import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { TestClock } from '../../actors/clock.ts';
import { SharedLimiter } from './shared-limiter.ts';
import { kalshiBucketSpec, kalshiLimits, kiteLimits, mergeLimits } from './limits.ts';
import { createBucket, take } from './window-log.ts';
import type { AcquireOptions } from './types.ts';
import { maxInAnyWindow } from '../../test/support/limiter-venue-model.ts';
import { LimiterClosedError } from '../errors.ts';

function setup(limits = mergeLimits(kiteLimits(), kalshiLimits('basic'))) {
  const clock = new TestClock(Date.UTC(2026, 0, 5, 4, 0, 0, 250));
  const registry = new Registry();
  const limiter = new SharedLimiter({ clock, limits, registry });
  const grants: { id: string; at: number; milli: number }[] = [];
  const ask = (id: string, category: string, opts: AcquireOptions = {}) => {
    const p = limiter.acquire(category, opts).then(() => {
      grants.push({ id, at: clock.now(), milli: Math.round((opts.cost ?? 1) * 1000) });
    });
    p.catch(() => {}); // tests that expect a rejection await it themselves
    return p;
  };
  return { clock, registry, limiter, grants, ask };
}

test('a burst of 500 orders never exceeds 10 in any second nor 200 in any minute (configured)', async () => {
  const { clock, limiter, grants, ask } = setup(kiteLimits({ ordersPerMinute: 200 }));
  for (let i = 0; i < 500; i++) void ask(`o${i}`, 'kite.orders', { priority: 'place' });
  await clock.advance(0); // record the immediate grants at the instant they happened
  await clock.advance(3 * 60_000);
  assert.equal(grants.length, 500);
  assert.equal(maxInAnyWindow(grants, 1000), 10_000);
  assert.equal(maxInAnyWindow(grants, 60_000), 200_000);
  // and it is not needlessly slow: 500 orders need two full minutes plus a hundred more
  assert.equal(grants[499]!.at - grants[0]!.at, 2 * 60_000 + 9_000);
  limiter.close();
});

test('a kill-switch cancel queued behind 50 new orders goes out first', async () => {
  const { clock, limiter, grants, ask } = setup();
  // Kalshi Basic: a 100-token write bucket; a create costs 10 tokens, a cancel 2
  for (let i = 0; i < 10; i++) await ask(`warm${i}`, 'kalshi.write', { priority: 'place', cost: 10 }); // bucket now empty
  for (let i = 0; i < 50; i++) void ask(`new${i}`, 'kalshi.write', { priority: 'place', cost: 10 });
  void ask('cancel', 'kalshi.write', { priority: 'cancel', cost: 2 });
  void ask('kill', 'kalshi.write', { priority: 'kill', cost: 2 });
  await clock.advance(1000);
  const order = grants.slice(10).map((g) => g.id);
  assert.deepEqual(order.slice(0, 4), ['kill', 'cancel', 'new0', 'new1']);
  limiter.close();
});

test('within one priority calls are granted in arrival order', async () => {
  const { clock, limiter, grants, ask } = setup();
  const ids = Array.from({ length: 30 }, (_, i) => `q${i}`);
  for (const id of ids) void ask(id, 'kite.quote', { priority: 'read' });
  await clock.advance(30_000);
  assert.deepEqual(grants.map((g) => g.id), ids);
  limiter.close();
});

test('a call without a priority waits behind orders (it counts as a read)', async () => {
  const { clock, limiter, grants, ask } = setup();
  await ask('first', 'kite.quote', { priority: 'read' });
  void ask('unlabelled', 'kite.quote');
  void ask('order', 'kite.quote', { priority: 'place' });
  await clock.advance(2000);
  assert.deepEqual(grants.map((g) => g.id), ['first', 'order', 'unlabelled']);
  limiter.close();
});

test('after a 429 the category holds until the pause ends, other categories carry on', async () => {
  const { clock, registry, limiter, grants, ask } = setup();
  const t0 = clock.now();
  limiter.pauseUntil('kite.orders', t0 + 5000);
  void ask('held', 'kite.orders', { priority: 'place' });
  void ask('quote', 'kite.quote');
  await clock.advance(0);
  await clock.advance(4999);
  assert.deepEqual(grants.map((g) => g.id), ['quote']);
  assert.equal(limiter.snapshot().find((s) => s.category === 'kite.orders')!.pausedUntil, t0 + 5000);
  await clock.advance(1);
  assert.deepEqual(grants.map((g) => [g.id, g.at - t0]), [['quote', 0], ['held', 5000]]);
  const text = await registry.metrics();
  assert.match(text, /orch_limiter_throttled_total\{category="kite.orders"\} 1/);
  limiter.close();
});

test('an aborted call is rejected, leaves the queue and costs no token', async () => {
  const { clock, limiter, grants, ask } = setup();
  await ask('first', 'kite.quote');
  const ac = new AbortController();
  const aborted = ask('aborted', 'kite.quote', { signal: ac.signal, priority: 'place' });
  void ask('next', 'kite.quote');
  assert.equal(limiter.snapshot().find((s) => s.category === 'kite.quote')!.queueDepth, 2);
  ac.abort();
  await assert.rejects(aborted, { name: 'AbortError' });
  assert.equal(limiter.snapshot().find((s) => s.category === 'kite.quote')!.queueDepth, 1);
  await clock.advance(1000);
  assert.deepEqual(grants.map((g) => g.id), ['first', 'next']);
  limiter.close();
});

test('an already-aborted signal rejects at once with its reason', async () => {
  const { limiter } = setup();
  const ac = new AbortController();
  ac.abort(new Error('shutting down'));
  await assert.rejects(limiter.acquire('kite.quote', { signal: ac.signal }), /shutting down/);
  limiter.close();
});

test('aborting a blocked expensive head lets the cheaper call behind it through', async () => {
  const { clock, limiter, grants, ask } = setup();
  await ask('half', 'kalshi.write', { cost: 95 });
  const ac = new AbortController();
  const big = ask('big', 'kalshi.write', { cost: 10, signal: ac.signal, priority: 'place' });
  void ask('fifth', 'kalshi.write', { cost: 2 });
  await clock.advance(0);
  assert.deepEqual(grants.map((g) => g.id), ['half']);
  ac.abort();
  await assert.rejects(big);
  await clock.advance(0);
  assert.deepEqual(grants.map((g) => g.id), ['half', 'fifth']);
  limiter.close();
});

test('unknown categories and impossible costs are refused, naming the problem', async () => {
  const { limiter } = setup();
  await assert.rejects(limiter.acquire('kite.nope'), /unknown limiter category kite.nope/);
  await assert.rejects(limiter.acquire('kite.quote', { cost: 2 }), /exceeds the smallest window/);
  await assert.rejects(limiter.acquire('kite.quote', { cost: 0 }), RangeError);
  assert.throws(() => limiter.pauseUntil('kite.nope', 1), /unknown limiter category/);
  limiter.close();
});

test('snapshot and the scraped gauges report the tightest window, queue and headroom', async () => {
  const { clock, registry, limiter, ask } = setup();
  for (let i = 0; i < 12; i++) void ask(`o${i}`, 'kite.orders', { priority: 'place' });
  await clock.advance(0);
  const s = limiter.snapshot().find((x) => x.category === 'kite.orders')!;
  assert.deepEqual(s, { category: 'kite.orders', tokens: 0, capacity: 10, queueDepth: 2, pausedUntil: null });
  let text = await registry.metrics();
  assert.match(text, /orch_limiter_tokens\{category="kite.orders"\} 0\n/);
  assert.match(text, /orch_limiter_queue_depth\{category="kite.orders"\} 2\n/);
  assert.match(text, /orch_limiter_wait_seconds_count\{category="kite.orders"\} 10\n/);
  await clock.advance(1000);
  // 12 of 200 used in the minute, 2 of 10 in the second: the second window is the tighter
  text = await registry.metrics();
  assert.match(text, /orch_limiter_tokens\{category="kite.orders"\} 8\n/);
  assert.match(text, /orch_limiter_capacity\{category="kite.orders"\} 10\n/);
  assert.match(text, /orch_limiter_wait_seconds_sum\{category="kite.orders"\} 2\n/);
  limiter.close();
});

test('close rejects waiters and leaves no timer behind', async () => {
  const { clock, limiter, ask } = setup();
  await ask('a', 'kite.quote');
  const waiting = ask('b', 'kite.quote');
  assert.equal(clock.pending(), 1);
  limiter.close();
  await assert.rejects(waiting, LimiterClosedError);
  assert.equal(clock.pending(), 0);
  await assert.rejects(limiter.acquire('kite.quote'), LimiterClosedError);
});

test('the constructor names a missing option', () => {
  assert.throws(() => new SharedLimiter({ clock: undefined as never, limits: kiteLimits() }), /options\.clock/);
  assert.throws(() => new SharedLimiter({ clock: new TestClock(), limits: {} }), /options\.limits/);
});

test('the wait estimate counts what is queued ahead, what was decided but not yet asked, and the minute window', async () => {
  const { clock, limiter, grants, ask } = setup(kiteLimits({ ordersPerMinute: 200, modifyPerSecond: 25 }));
  assert.equal(limiter.estimateWaitMs('kite.orders', 'place'), 0, 'an idle bucket sends at once');
  for (let i = 0; i < 10; i++) void ask(`a${i}`, 'kite.orders', { priority: 'place' });
  for (let i = 0; i < 5; i++) void ask(`b${i}`, 'kite.orders', { priority: 'place' });
  await clock.advance(0);
  assert.equal(grants.length, 10);
  // Five wait for the next second; this one would go with them.
  assert.equal(limiter.estimateWaitMs('kite.orders', 'place'), 1_000);
  // Ten more decided ahead of it: the second after that.
  assert.equal(limiter.estimateWaitMs('kite.orders', 'place', { ahead: 10 }), 2_000);
  // A place queued behind cancels waits for them too; a cancel does not wait behind places.
  assert.equal(limiter.estimateWaitMs('kite.modify', 'cancel'), 0);
  // 200 a minute: once used up, the next waits for the first of them to leave the window.
  for (let i = 0; i < 185; i++) void ask(`c${i}`, 'kite.orders', { priority: 'place' });
  await clock.advance(20_000);
  assert.equal(grants.length, 200);
  const wait = limiter.estimateWaitMs('kite.orders', 'place');
  assert.ok(wait > 35_000 && wait <= 40_000, `waits for the minute window: ${wait} ms`);
});

test('kite modify/cancel count in the "other" window by default: reads and cancels together stay at 10 a second, kill cancels first', async () => {
  const { clock, limiter, grants, ask } = setup(kiteLimits());
  for (let i = 0; i < 10; i++) void ask(`read${i}`, 'kite.other', { priority: 'read' });
  for (let i = 0; i < 5; i++) void ask(`kill${i}`, 'kite.modify', { priority: 'kill' });
  await clock.advance(0);
  assert.deepEqual(grants.map((g) => g.id), Array.from({ length: 10 }, (_, i) => `read${i}`), 'the window is full: the cancels wait');
  for (let i = 10; i < 15; i++) void ask(`read${i}`, 'kite.other', { priority: 'read' });
  await clock.advance(1_000);
  assert.deepEqual(grants.slice(10).map((g) => g.id), ['kill0', 'kill1', 'kill2', 'kill3', 'kill4', 'read10', 'read11', 'read12', 'read13', 'read14']);
  assert.equal(maxInAnyWindow(grants, 1000), 10_000, 'never more than 10 of them in any second');
  assert.deepEqual(limiter.snapshot().map((s) => s.category).sort(), ['kite.historical', 'kite.orders', 'kite.other', 'kite.quote'], 'an alias is not a bucket of its own');
  limiter.close();
});

test('configure resizes a category to the venue\'s figures: spent tokens carry over, waiters get the new budget', async () => {
  const { clock, limiter, grants, ask } = setup();
  for (let i = 0; i < 10; i++) await ask(`basic${i}`, 'kalshi.write', { priority: 'place', cost: 10 }); // Basic's 100 spent
  for (let i = 0; i < 55; i++) void ask(`adv${i}`, 'kalshi.write', { priority: 'place', cost: 10 });
  await clock.advance(0);
  assert.equal(grants.length, 10, 'the fallback is full');
  // The account turns out to be Advanced: 300 tokens a second, 600 of burst (two seconds).
  limiter.configure('kalshi.write', kalshiBucketSpec({ refill_rate: 300, bucket_capacity: 600 }));
  await clock.advance(0);
  assert.equal(grants.length, 60, 'the 100 already spent still count: 50 more fit in the 600 now');
  const w = limiter.snapshot().find((b) => b.category === 'kalshi.write')!;
  assert.deepEqual([w.capacity, w.tokens], [600, 0]);
  await clock.advance(2_000);
  assert.equal(grants.length, 65);
  limiter.close();
});

test('a Kalshi bucket as a sliding window never takes more than the venue\'s token bucket would allow', () => {
  for (const b of [{ refill_rate: 100, bucket_capacity: 100 }, { refill_rate: 300, bucket_capacity: 600 }, { refill_rate: 4_000, bucket_capacity: 8_000 }]) {
    const spec = kalshiBucketSpec(b);
    assert.deepEqual(spec.windows, [{ limit: b.bucket_capacity, windowMs: (b.bucket_capacity / b.refill_rate) * 1000 }]);
    // Greedy demand of 10-token calls for 10 s against a model of the venue's bucket (full at start).
    const bucket = createBucket(spec);
    let tokens = b.bucket_capacity;
    let last = 0;
    for (let t = 0; t <= 10_000; t += 5) {
      tokens = Math.min(b.bucket_capacity, tokens + ((t - last) / 1000) * b.refill_rate);
      last = t;
      while (take(bucket, t, 10_000).ok) {
        tokens -= 10;
        assert.ok(tokens >= -1e-9, `venue bucket overdrawn at ${t} ms for ${JSON.stringify(b)}`);
      }
    }
  }
});

test('a call counts from its answer: the next second of orders waits a full window after the last answer, and settling twice counts once', async () => {
  const { clock, limiter } = setup(kiteLimits());
  const t0 = clock.now();
  const settles = await Promise.all(Array.from({ length: 10 }, () => limiter.acquire('kite.orders', { priority: 'place' })));
  let eleventhAt: number | null = null;
  void limiter.acquire('kite.orders', { priority: 'place' }).then(() => { eleventhAt = clock.now(); });
  await clock.advance(40);
  for (const s of settles) {
    s();
    s();
  }
  await clock.advance(999); // t0 + 1039: a window after the sends, not yet after the answers
  assert.equal(eleventhAt, null);
  await clock.advance(1);
  assert.equal(eleventhAt, t0 + 1040);
  // nine slots of the answered burst free at t0 + 1040 too, the tenth is the eleventh call's
  assert.equal(limiter.snapshot().find((s) => s.category === 'kite.orders')!.tokens, 9);
  limiter.close();
});
