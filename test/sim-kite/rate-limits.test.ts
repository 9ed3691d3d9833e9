/** Real 429s in calendar-second (and, for placements, calendar-minute) windows of the sim Clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KiteConnect } from 'kiteconnect';
import { CalendarRateLimiter } from '../../exchanges/kite/rate-limits.ts';
import { kiteFetch, startTestSim } from './helpers.ts';

const marketBuy = () =>
  new URLSearchParams({ exchange: 'NSE', tradingsymbol: 'ITC', transaction_type: 'BUY', quantity: '1', product: 'MIS', order_type: 'MARKET' });

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

test('quotes allow 1 request per second; modify/cancel have their own 25/s window', async () => {
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

test('200 placements per minute, then 429 until the minute ends', () => {
  const rl = new CalendarRateLimiter();
  const t0 = Date.UTC(2026, 10, 23, 4, 0, 0);
  for (let s = 0; s < 20; s++) for (let i = 0; i < 10; i++) assert.equal(rl.admit('k', 'order_place', t0 + s * 1000 + i).ok, true);
  const refused = rl.admit('k', 'order_place', t0 + 20_500);
  assert.deepEqual(refused, { ok: false, retryAfterSec: 40 });
  assert.equal(rl.admit('k', 'order_place', t0 + 60_000).ok, true);
  // Other classes and other keys are independent.
  assert.equal(rl.admit('k', 'order_modify', t0 + 20_500).ok, true);
  assert.equal(rl.admit('other', 'order_place', t0 + 20_500).ok, true);
  for (let i = 0; i < 25; i++) rl.admit('m', 'order_modify', t0 + i);
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
