/** Real 429s in calendar-second (and, for placements, calendar-minute) windows of the sim Clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KiteConnect } from 'kiteconnect';
import { CalendarRateLimiter } from '../../../exchanges/kite/rate-limits.ts';
import { kiteFetch, startTestSim } from './helpers.ts';

const marketBuy = () =>
  new URLSearchParams({ exchange: 'NSE', tradingsymbol: 'ITC', transaction_type: 'BUY', quantity: '1', product: 'MIS', order_type: 'MARKET', market_protection: '-1' });

test('a burst of 11 placements in one second: the 11th is 429 with Retry-After, the next second is fine', async () => {
  const { sim, clock } = await startTestSim();
  try {
    const token = sim.issueAccessToken();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await kiteFetch(sim, '/orders/regular', { method: 'POST', token, body: marketBuy() })).status);
    assert.deepEqual(statuses, [...Array(10).fill(200), 429]);
    const res = await kiteFetch(sim, '/orders/regular', { method: 'POST', token, body: marketBuy() });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(await res.json(), { status: 'error', error_type: 'NetworkException', message: 'Too many requests', data: null });
    assert.equal(sim.orders().length, 10, 'refused calls never reach the exchange');

    // The official client surfaces the JSON body as-is.
    const kc: any = new KiteConnect({ api_key: sim.credentials.apiKey, access_token: token, root: sim.restUrl });
    await assert.rejects(
      kc.placeOrder('regular', Object.fromEntries(marketBuy())),
      (e: any) => e.error_type === 'NetworkException' && e.message === 'Too many requests',
    );
    await clock.advance(1000);
    assert.match((await kc.placeOrder('regular', Object.fromEntries(marketBuy()))).order_id, /^\d+$/);
  } finally {
    await sim.close();
  }
});

test('quotes allow 1 request per second', async () => {
  const { sim, clock } = await startTestSim();
  try {
    const token = sim.issueAccessToken();
    assert.equal((await kiteFetch(sim, '/quote/ltp?i=NSE:INFY', { token })).status, 200);
    assert.equal((await kiteFetch(sim, '/quote/ohlc?i=NSE:INFY', { token })).status, 429);
    await clock.advance(1000);
    assert.equal((await kiteFetch(sim, '/quote?i=NSE:INFY', { token })).status, 200);
  } finally {
    await sim.close();
  }
});

test('modify and cancel count under "all other endpoints": with 10 reads in a second, a cancel is 429', async () => {
  const { sim, clock } = await startTestSim();
  try {
    const token = sim.issueAccessToken();
    const placed = await kiteFetch(sim, '/orders/regular', { method: 'POST', token, body: marketBuy() });
    const id = ((await placed.json()) as { data: { order_id: string } }).data.order_id;
    await clock.advance(1000);
    for (let i = 0; i < 10; i++) assert.equal((await kiteFetch(sim, '/orders', { token })).status, 200);
    assert.equal((await kiteFetch(sim, `/orders/regular/${id}`, { method: 'DELETE', token })).status, 429, 'the cancel shares the 10/s');
    await clock.advance(1000);
    for (let i = 0; i < 9; i++) assert.equal((await kiteFetch(sim, '/orders', { token })).status, 200);
    assert.notEqual((await kiteFetch(sim, `/orders/regular/${id}`, { method: 'DELETE', token })).status, 429);
    assert.equal((await kiteFetch(sim, '/orders', { token })).status, 429, 'and it used one of them');
  } finally {
    await sim.close();
  }
});

test('400 placements per minute and 5,000 per IST day by default, then 429 until the period ends', () => {
  const rl = new CalendarRateLimiter();
  const t0 = Date.UTC(2026, 10, 23, 4, 0, 0); // 09:30 IST
  for (let s = 0; s < 40; s++) for (let i = 0; i < 10; i++) assert.equal(rl.admit('k', 'order_place', t0 + s * 1000 + i).ok, true);
  assert.deepEqual(rl.admit('k', 'order_place', t0 + 40_500), { ok: false, retryAfterSec: 20 });
  assert.equal(rl.admit('k', 'order_place', t0 + 60_000).ok, true);
  // Other classes and other keys are independent.
  assert.equal(rl.admit('k', 'order_modify', t0 + 40_500).ok, true);
  assert.equal(rl.admit('other', 'order_place', t0 + 40_500).ok, true);
  // The day: 5,000 in all (401 so far), then nothing until 00:00 IST (18:30 UTC).
  let n = 401;
  for (let m = 2; n < 5_000; m++) for (let i = 0; i < 400 && n < 5_000; i++, n++) assert.equal(rl.admit('k', 'order_place', t0 + m * 60_000 + Math.floor(i / 10) * 1000).ok, true);
  const late = Date.UTC(2026, 10, 23, 9, 0, 0); // 14:30 IST
  assert.deepEqual(rl.admit('k', 'order_place', late), { ok: false, retryAfterSec: 9.5 * 3600 });
  assert.equal(rl.admit('k', 'order_place', Date.UTC(2026, 10, 23, 18, 30, 0)).ok, true, 'a new IST day');
});

test('every figure can be configured: 200 a minute, and modify/cancel in a 25/s window of their own', () => {
  const rl = new CalendarRateLimiter({ ordersPerMinute: 200, modifyPerSecond: 25 });
  const t0 = Date.UTC(2026, 10, 23, 4, 0, 0);
  for (let s = 0; s < 20; s++) for (let i = 0; i < 10; i++) assert.equal(rl.admit('k', 'order_place', t0 + s * 1000 + i).ok, true);
  assert.deepEqual(rl.admit('k', 'order_place', t0 + 20_500), { ok: false, retryAfterSec: 40 });
  for (let i = 0; i < 10; i++) assert.equal(rl.admit('m', 'other', t0 + i).ok, true);
  for (let i = 0; i < 25; i++) assert.equal(rl.admit('m', 'order_modify', t0 + i).ok, true);
  assert.equal(rl.admit('m', 'order_modify', t0 + 999).ok, false);
});

test('enforceRateLimits: false lets bursts through', async () => {
  const { sim } = await startTestSim({ enforceRateLimits: false });
  try {
    const token = sim.issueAccessToken();
    for (let i = 0; i < 3; i++) assert.equal((await kiteFetch(sim, '/quote/ltp?i=NSE:INFY', { token })).status, 200);
  } finally {
    await sim.close();
  }
});
