import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../actors/clock.ts';
import { registry } from '../../actors/metrics.ts';
import { KalshiRest } from './rest.ts';
import type { FetchFn } from './http.ts';
import { VenueError } from '../venue-errors.ts';
import { KalshiCosts, parseRetryAfter } from './ratelimit.ts';
import { SharedLimiter } from '../limiter/shared-limiter.ts';
import { kalshiLimits } from '../limiter/limits.ts';
import { captureLogger, advance } from '../../test/support/kalshi-helpers.ts';
import { FakeLimiter } from '../../test/support/fake-limiter.ts';

const BASE = 'http://kalshi.test/trade-api/v2';
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

function client(responses: Array<Response | Error | 'hang'>, clock = new TestClock(), limiterOf?: (clock: TestClock) => FakeLimiter | SharedLimiter) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fetchFn: FetchFn = (url, init) => {
    calls.push({ url, init });
    const next = responses.shift();
    if (!next) throw new Error('no more responses');
    if (next === 'hang') {
      return new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    }
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  const limiter = limiterOf ? limiterOf(clock) : new FakeLimiter(clock);
  const { logger, lines } = captureLogger();
  const rest = new KalshiRest({ baseUrl: BASE, limiter, clock, logger, fetch: fetchFn, random: () => 0.5, timeoutMs: 1_000 });
  return { rest, calls, limiter: limiter as FakeLimiter, clock, lines };
}

const ORDER = { order_id: 'o1', client_order_id: 'c1', ticker: 'T', book_side: 'bid', status: 'resting', yes_price_dollars: '0.4200', fill_count_fp: '0.00', remaining_count_fp: '5.00', initial_count_fp: '5.00' };

test('costs are tokens per route: 10 by default, 2 for a cancel or a single-order read, a batch billed per item', () => {
  const c = new KalshiCosts();
  assert.equal(c.of('POST', '/portfolio/events/orders'), 10);
  assert.equal(c.of('DELETE', '/portfolio/events/orders/3f2a-uuid'), 2);
  assert.equal(c.of('GET', '/portfolio/orders/3f2a-uuid'), 2);
  assert.equal(c.of('GET', '/portfolio/orders'), 10, 'the list is not the single-order read');
  assert.equal(c.of('POST', '/portfolio/events/orders/batched', 20), 200, 'batches save no tokens');
  // what the account says replaces the fallback
  c.set([{ method: 'POST', path: '/portfolio/events/orders', cost: 12 }], 8);
  assert.deepEqual([c.of('POST', '/portfolio/events/orders'), c.of('DELETE', '/portfolio/events/orders/x')], [12, 8]);
});

test('a batch costs 10 tokens per order, a batch cancel 2 per order, a read 10', async () => {
  const { rest, limiter } = client([
    json(201, { orders: [{ order_id: 'a', fill_count: '0.00', remaining_count: '1.00' }, { order_id: 'b' }] }),
    json(200, { orders: [{ order_id: 'a', reduced_by: '1.00' }, { order_id: 'b', reduced_by: '1.00' }] }),
    json(200, { markets: [], cursor: '' }),
  ]);
  const o = { ticker: 'T', side: 'bid' as const, price: 4200, count: 100, clientOrderId: 'x' };
  await rest.batchCreate([o, { ...o, clientOrderId: 'y' }]);
  await rest.batchCancel([{ orderId: 'a' }, { orderId: 'b' }]);
  await rest.getMarkets();
  assert.deepEqual(limiter.acquired.map((a) => [a.category, a.opts?.cost, a.opts?.priority]), [
    ['kalshi.write', 20, 'place'], ['kalshi.write', 4, 'cancel'], ['kalshi.read', 10, 'read'],
  ]);
});

test('an order goes out as YES-side bid/ask with dollar and count strings, never floats', async () => {
  const { rest, calls } = client([json(201, { order_id: 'o1', client_order_id: 'intent-1', fill_count: '0.00', remaining_count: '10.00', ts_ms: 1 })]);
  const r = await rest.createOrder({ ticker: 'KX-1', side: 'ask', price: 5700, count: 1000, clientOrderId: 'intent-1' });
  const body = JSON.parse(String(calls[0]!.init.body));
  assert.equal(calls[0]!.url, `${BASE}/portfolio/events/orders`);
  assert.deepEqual(body, { ticker: 'KX-1', client_order_id: 'intent-1', side: 'ask', price: '0.5700', count: '10.00', time_in_force: 'good_till_canceled', self_trade_prevention_type: 'taker_at_cross' });
  assert.equal(r.remaining_count, 1000);
  const headers = calls[0]!.init.headers as Record<string, string>;
  assert.equal(headers['KALSHI-ACCESS-KEY'], undefined, 'no credentials configured, no auth headers');
});

test('a 429 with Retry-After pauses the write bucket for that long, then the write goes through', async () => {
  const { rest, limiter, clock, calls } = client([
    json(429, { error: 'too many requests' }, { 'retry-after': '2' }),
    json(201, { order_id: 'o1', fill_count: '0.00', remaining_count: '1.00' }),
  ]);
  const t0 = clock.now();
  const p = rest.createOrder({ ticker: 'T', side: 'bid', price: 100, count: 100, clientOrderId: 'c' });
  await advance(clock, 1_999);
  assert.equal(calls.length, 1, 'nothing is sent while the bucket is paused');
  await advance(clock, 1);
  assert.equal((await p).order_id, 'o1');
  assert.deepEqual(limiter.pauses, [{ category: 'kalshi.write', untilMs: t0 + 2_000, atMs: t0 }]);
  assert.equal(limiter.settled, 2, 'both calls, the refused one too, count from their answers');
});

test('a 429 without Retry-After backs off with full jitter, and gives up as RateLimited after the budget', async () => {
  const storm = Array.from({ length: 6 }, () => json(429, { error: 'too many requests' }));
  const { rest, limiter, clock } = client(storm);
  const p = rest.getMarkets().catch((e) => e);
  await advance(clock, 60_000, 250);
  const e = await p;
  assert.ok(e instanceof VenueError);
  assert.equal(e.kind, 'RateLimited');
  assert.equal(limiter.pauses.length, 6);
  // random() = 0.5 → half of 500, 1000, 2000, ... ms
  assert.deepEqual(limiter.pauses.map((x) => x.untilMs - x.atMs!), [250, 500, 1_000, 2_000, 4_000, 8_000]);
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 5_000);
  assert.equal(parseRetryAfter('soon', 0), undefined);
});

test('past 80% of the account\'s bucket, by the limiter\'s own count (Kalshi sends no rate headers), one warning and the metric', async () => {
  const metric = async () => (await registry.getSingleMetricAsString('orch_ratelimit_headroom_warnings_total')).match(/venue="kalshi"} (\d+)/)?.[1] ?? '0';
  const before = Number(await metric());
  const created = () => json(201, { order_id: 'o', fill_count: '0.00', remaining_count: '1.00' });
  // Basic: a write bucket of 100 tokens a second; a create costs 10. No response carries a header.
  const { rest, lines } = client(Array.from({ length: 10 }, created), new TestClock(), (clock) => new SharedLimiter({ clock, limits: kalshiLimits('basic') }));
  const o = (i: number) => ({ ticker: 'T', side: 'bid' as const, price: 4200, count: 100, clientOrderId: `h${i}` });
  for (let i = 0; i < 8; i++) await rest.createOrder(o(i)); // 80 of 100: not past the line
  assert.equal(Number(await metric()) - before, 0);
  await rest.createOrder(o(8)); // 90 of 100
  await rest.createOrder(o(9)); // 100 of 100: still the same episode, warned once
  assert.equal(Number(await metric()) - before, 1);
  assert.equal(lines.filter((l) => l.includes('headroom')).length, 1);
});

test('a read that hits a 503 is retried; a write that hits a 503 is not', async () => {
  const r = client([json(503, { error: { code: 'x' } }), json(200, { order: ORDER })]);
  const p = r.rest.getOrder('o1');
  await advance(r.clock, 10_000, 100);
  assert.equal((await p).orderId, 'o1');
  const w = client([json(503, {})]);
  await assert.rejects(w.rest.cancelOrder('o1'), (e: VenueError) => e.kind === 'GatewayError' && e.status === 503);
});

test('Kalshi errors map onto the shared taxonomy', async () => {
  const cases: Array<[number, unknown, string]> = [
    [400, { error: { code: 'insufficient_balance', message: 'no money' } }, 'MarginException'],
    [400, { code: 'market_closed' }, 'ExchangeException'],
    [400, { error: { code: 'invalid_parameters' } }, 'InputException'],
    [401, { error: 'bad sig' }, 'TokenException'],
    [403, {}, 'PermissionException'],
    [404, {}, 'NotFound'],
    [409, { error: { code: 'order_already_exists' } }, 'Conflict'],
  ];
  for (const [status, body, kind] of cases) {
    const { rest } = client([json(status, body)]);
    await assert.rejects(rest.cancelOrder('o'), (e: VenueError) => e.kind === kind, `${status} → ${kind}`);
  }
});

test('a write with no answer inside the timeout fails as Timeout (so it gets looked up, not resent)', async () => {
  const { rest, clock } = client(['hang']);
  const p = rest.createOrder({ ticker: 'T', side: 'bid', price: 100, count: 100, clientOrderId: 'c' }).catch((e) => e);
  await advance(clock, 1_000);
  const e = await p;
  assert.equal(e.kind, 'Timeout');
  assert.equal(e.policy.action, 'lookup_first');
});

test('a response that does not match the schema is rejected, not half-used', async () => {
  const { rest } = client([json(200, { order: { ...ORDER, yes_price_dollars: 0.42 } })]);
  await assert.rejects(rest.getOrder('o1'), /unexpected response: order.yes_price_dollars/);
  const { rest: r2 } = client([json(200, { order: { ...ORDER, remaining_count_fp: '1.005' } })]);
  await assert.rejects(r2.getOrder('o1'), /more than 2 decimal places/);
});
