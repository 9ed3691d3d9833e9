import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import WebSocket from 'ws';
import { TestClock } from '../../../actors/clock.ts';
import { startKalshiSim } from '../../../exchanges/kalshi/index.ts';
import { SimEngine } from '../../../exchanges/kalshi/engine.ts';
import { KalshiRest } from '../../../broker/kalshi/rest.ts';
import { authHeaders, loadPrivateKey } from '../../../broker/kalshi/signing.ts';
import { VenueError } from '../../../broker/venue-errors.ts';
import { captureLogger } from '../../support/kalshi-helpers.ts';
import { FakeLimiter } from '../../support/fake-limiter.ts';

test('resting orders match in price-time priority, at the resting price', () => {
  const clock = new TestClock();
  const e = new SimEngine(clock);
  e.addMarket({ ticker: 'T', eventTicker: 'E', seriesTicker: 'S', title: 't', status: 'active', openMs: 0, closeMs: 1, lastPrice: 0, volume: 0 });
  const gtc = 'good_till_canceled' as const;
  const first = e.place({ ticker: 'T', side: 'ask', price: 5500, count: 100, timeInForce: gtc }, 'mm');
  const second = e.place({ ticker: 'T', side: 'ask', price: 5500, count: 100, timeInForce: gtc }, 'mm');
  const better = e.place({ ticker: 'T', side: 'ask', price: 5400, count: 50, timeInForce: gtc }, 'mm');
  const taker = e.place({ ticker: 'T', side: 'bid', price: 5600, count: 200, timeInForce: 'immediate_or_cancel', clientOrderId: 'b1' });
  assert.equal(better.status, 'executed', 'best price first');
  assert.deepEqual([first.filled, first.status], [100, 'executed'], 'then the earlier order at the same price');
  assert.deepEqual([second.filled, second.remaining], [50, 50]);
  assert.equal(taker.filled, 200);
  const takerFills = e.userFills.filter((f) => f.orderId === taker.orderId).map((f) => f.price);
  assert.deepEqual(takerFills, [5400, 5500, 5500], 'each fill at the maker price');
  assert.deepEqual(e.levels('T').no, [[4500, 50]], 'what is left rests as a NO bid at 1 − p');
  // our own resting order is never hit by our own taker (self-trade prevention: taker_at_cross)
  const mine = e.place({ ticker: 'T', side: 'ask', price: 6000, count: 100, timeInForce: gtc, clientOrderId: 'own' });
  const cross = e.place({ ticker: 'T', side: 'bid', price: 6000, count: 100, timeInForce: gtc, clientOrderId: 'own-2' });
  assert.deepEqual([mine.status, cross.status, cross.filled], ['resting', 'canceled', 50], 'fills the 50 left at 5500, then stops at our own order');
});

test('the exchange enforces the Basic write limit with a real 429, bare as at Kalshi (no Retry-After, no X-RateLimit-*)', async () => {
  const clock = new TestClock(Date.now());
  const sim = await startKalshiSim({ clock, tier: 'basic' });
  try {
    const { logger } = captureLogger();
    const rest = new KalshiRest({
      baseUrl: sim.restUrl, credentials: { keyId: sim.keyId, privateKey: loadPrivateKey({ path: sim.privateKeyPath }) },
      limiter: new FakeLimiter(clock), clock, logger, maxRateLimitRetries: 0,
    });
    const order = (i: number) => ({ ticker: sim.markets[0]!, side: 'bid' as const, price: 100, count: 100, clientOrderId: `burst-${i}` });
    for (let i = 0; i < 10; i++) await rest.createOrder(order(i));
    await assert.rejects(rest.createOrder(order(10)), (e: VenueError) => e.kind === 'RateLimited');
    assert.equal(sim.orders().length, 10, 'the refused write did not land');
    // The same refusal on the wire, signed as the client signs it: nothing to lean on but backoff.
    const url = `${sim.restUrl}/portfolio/orders`;
    const creds = { keyId: sim.keyId, privateKey: loadPrivateKey({ path: sim.privateKeyPath }) };
    const bare = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders(creds, 'POST', url, clock.now()) }, body: JSON.stringify({ ticker: sim.markets[0]!, side: 'yes', action: 'buy', count: 1, yes_price: 1 }) });
    assert.equal(bare.status, 429);
    assert.deepEqual(await bare.json(), { error: 'too many requests' });
    assert.deepEqual([...bare.headers.keys()].filter((k) => k === 'retry-after' || k.startsWith('x-ratelimit')), []);
    // The client backed off; after the bucket refills, spend 9 of the refilled 10 writes.
    await clock.advance(1_000);
    for (let i = 11; i < 20; i++) await rest.createOrder(order(i));
    const ids = sim.orders().slice(0, 5).map((o) => ({ orderId: o.orderId }));
    const r = await rest.batchCancel(ids); // 5 cancels × 0.2 = the one token left
    assert.deepEqual(r.orders.map((o) => o.reduced_by), [100, 100, 100, 100, 100]);
    await assert.rejects(rest.cancelOrder(sim.orders()[6]!.orderId), (e: VenueError) => e.kind === 'RateLimited');
    // reads have their own bucket
    assert.equal((await rest.getMarkets()).items.length, 7);
  } finally {
    await sim.close();
  }
});

test('the WebSocket handshake is refused without a valid signature', async () => {
  const sim = await startKalshiSim();
  try {
    const attempt = (headers: Record<string, string>) => new Promise<number>((resolve) => {
      const ws = new WebSocket(sim.wsUrl, { headers });
      ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
      ws.on('open', () => { resolve(101); ws.close(); });
      ws.on('error', () => undefined);
    });
    const good = loadPrivateKey({ path: sim.privateKeyPath });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    assert.equal(await attempt({ ...authHeaders({ keyId: sim.keyId, privateKey: good }, 'GET', sim.wsUrl, Date.now()) }), 101);
    assert.equal(await attempt({ ...authHeaders({ keyId: sim.keyId, privateKey: other }, 'GET', sim.wsUrl, Date.now()) }), 401);
    assert.equal(await attempt({ ...authHeaders({ keyId: sim.keyId, privateKey: good }, 'GET', sim.wsUrl, Date.now() - 60_000) }), 401);
    assert.equal(await attempt({}), 401);
  } finally {
    await sim.close();
  }
});
