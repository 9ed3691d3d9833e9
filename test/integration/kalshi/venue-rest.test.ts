import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { SystemClock, TestClock } from '../../../actors/clock.ts';
import { startKalshiSim, type KalshiSim } from '../../../exchanges/kalshi/index.ts';
import { KalshiVenue } from '../../../broker/kalshi/index.ts';
import { KalshiRest } from '../../../broker/kalshi/rest.ts';
import { loadPrivateKey } from '../../../broker/kalshi/signing.ts';
import { VenueError } from '../../../broker/venue-errors.ts';
import { captureLogger } from '../../support/kalshi-helpers.ts';
import { FakeLimiter } from '../../support/fake-limiter.ts';

/** Our REST client end to end against the built-in exchange, on real time. */
let sim: KalshiSim;
const clock = new SystemClock();
let limiter: FakeLimiter;
let venue: KalshiVenue;
let lines: string[];

before(async () => {
  sim = await startKalshiSim({ tier: 'premier', seed: 11 });
  limiter = new FakeLimiter(clock);
  const cap = captureLogger();
  lines = cap.lines;
  venue = new KalshiVenue({
    restUrl: sim.restUrl, wsUrl: sim.wsUrl, keyId: sim.keyId, privateKey: { path: sim.privateKeyPath },
    limiter, logger: cap.logger, clock, requestTimeoutMs: 1_500, lookupDelayMs: 0, random: () => 0.5,
  });
});
after(() => sim.close());

test('signed requests are accepted and cursor pagination walks every market exactly once', async () => {
  const all = await venue.rest.getAllMarkets({ limit: 3 });
  assert.deepEqual(all.map((m) => m.ticker).sort(), [...sim.markets].sort());
  assert.equal(limiter.acquired.filter((a) => a.category === 'kalshi.read').length, 3, '7 markets / 3 per page = 3 reads');
  const balance = await venue.rest.getBalance();
  assert.equal(balance.balanceCents, 100_000);
});

test('market filters reach the exchange: one event, one series', async () => {
  const ev = await venue.rest.getMarkets({ eventTicker: 'KXFED-26DEC' });
  assert.equal(ev.items.length, 3);
  assert.ok(ev.items.every((m) => m.event_ticker === 'KXFED-26DEC'));
  const two = await venue.rest.getMarkets({ tickers: [sim.markets[0]!, sim.markets[4]!] });
  assert.equal(two.items.length, 2);
  const events = await venue.rest.getEvents({ seriesTicker: 'KXBTCD', withNestedMarkets: true });
  assert.equal(events.items[0]?.markets?.length, 2);
  assert.equal((await venue.rest.getSeries('KXHIGHNY')).ticker, 'KXHIGHNY');
  const book = await venue.rest.getOrderbook(sim.markets[0]!);
  assert.equal(book.yes.length, 5);
  assert.ok(book.yes.every((l, i) => i === 0 || l.price > book.yes[i - 1]!.price), 'ascending, best last');
});

test('an order whose response is withheld is found by client_order_id, not placed twice', async () => {
  sim.faults.acceptThenTimeout(1);
  const r = await venue.placeOrder({ ticker: sim.markets[0]!, side: 'bid', price: 100, count: 500, clientOrderId: 'intent-timeout-1' });
  assert.equal(r.recovered, true);
  const mine = sim.orders().filter((o) => o.clientOrderId === 'intent-timeout-1');
  assert.equal(mine.length, 1, 'exactly one order at the exchange');
  assert.equal(mine[0]!.orderId, r.orderId);
  assert.ok(lines.some((l) => l.includes('looking the order up before any retry')));
});

test('a duplicate client_order_id (409) is treated as already landed and looked up', async () => {
  const first = await venue.placeOrder({ ticker: sim.markets[0]!, side: 'bid', price: 200, count: 100, clientOrderId: 'intent-dup' });
  const again = await venue.placeOrder({ ticker: sim.markets[0]!, side: 'bid', price: 200, count: 100, clientOrderId: 'intent-dup' });
  assert.equal(again.orderId, first.orderId);
  assert.equal(again.recovered, true);
  assert.equal(sim.orders().filter((o) => o.clientOrderId === 'intent-dup').length, 1);
});

test('a 500 on create is looked up, found missing, and retried under the same client_order_id', async () => {
  sim.faults.failNext(1, 500);
  const r = await venue.placeOrder({ ticker: sim.markets[1]!, side: 'ask', price: 9900, count: 100, clientOrderId: 'intent-500' });
  assert.equal(r.recovered, false);
  assert.equal(sim.orders().filter((o) => o.clientOrderId === 'intent-500').length, 1);
});

test('open orders, cancel, positions and fills come back as exact integers', async () => {
  const ticker = sim.markets[3]!;
  const top = sim.engine.top(ticker);
  const askPrice = top.ask![0];
  const orders: string[] = [];
  venue.on('order', (o) => orders.push(`${o.status}:${o.side}`));
  const taken = await venue.placeOrder({ ticker, side: 'bid', price: askPrice, count: 250, clientOrderId: 'intent-take', timeInForce: 'immediate_or_cancel' });
  assert.equal(taken.filledCount, 250);
  const pos = (await venue.getPositions()).find((p) => p.ticker === ticker);
  assert.equal(pos?.position, 250, '2.50 contracts long YES');
  const fills = await venue.getFills({ ticker });
  assert.deepEqual(fills.map((f) => [f.side, f.price, f.count, f.isTaker]), [['bid', askPrice, 250, true]]);
  const resting = await venue.placeOrder({ ticker, side: 'bid', price: 100, count: 100, clientOrderId: 'intent-rest' });
  assert.ok((await venue.getOpenOrders()).some((o) => o.orderId === resting.orderId && o.price === 100 && o.remainingCount === 100));
  const c = await venue.cancelOrder(resting.orderId);
  assert.equal(c.reducedBy, 100);
  assert.equal((await venue.getOpenOrders()).some((o) => o.orderId === resting.orderId), false);
  assert.deepEqual(orders, ['filled:bid', 'accepted:bid', 'canceled:bid']);
});

test('amend and decrease change a resting order on the V2 endpoints', async () => {
  const ticker = sim.markets[5]!;
  const r = await venue.placeOrder({ ticker, side: 'bid', price: 100, count: 1000, clientOrderId: 'intent-amend' });
  const a = await venue.rest.amendOrder(r.orderId, { ticker, side: 'bid', price: 200, count: 800 });
  assert.equal(a.remaining_count, 800);
  const d = await venue.rest.decreaseOrder(r.orderId, { reduceBy: 300 });
  assert.equal(d.remaining_count, 500);
  const o = sim.orders().find((x) => x.orderId === r.orderId)!;
  assert.deepEqual([o.price, o.remaining], [200, 500]);
});

test('orders off the tick grid or outside (0,1) are refused before any write', async () => {
  const writes = limiter.acquired.filter((a) => a.category === 'kalshi.write').length;
  await assert.rejects(venue.placeOrder({ ticker: sim.markets[0]!, side: 'bid', price: 150, count: 100, clientOrderId: 'x1' }), (e: VenueError) => e.kind === 'InputException');
  await assert.rejects(venue.placeOrder({ ticker: sim.markets[0]!, side: 'bid', price: 10_000, count: 100, clientOrderId: 'x2' }), /between 0 and 10000/);
  assert.equal(limiter.acquired.filter((a) => a.category === 'kalshi.write').length, writes);
});

test('a 429 storm (no Retry-After, as at Kalshi) pauses the bucket with backoff until the call succeeds', async () => {
  sim.faults.rateLimitStorm(200);
  const t0 = Date.now();
  const before = limiter.pauses.length;
  const b = await venue.rest.getBalance();
  assert.ok(b.balanceCents > 0);
  const pauses = limiter.pauses.slice(before);
  assert.ok(pauses.length >= 1 && pauses.every((p) => p.category === 'kalshi.read'));
  // Full jitter with random() = 0.5: 250 ms, then 500 ms; the storm is over after the first.
  // Real clock: the pause is set a moment before the stand-in limiter stamps it.
  const held = pauses[0]!.untilMs - pauses[0]!.atMs!;
  assert.ok(held > 200 && held <= 250, `the first backoff held the bucket ${held} ms`);
  assert.ok(Date.now() - t0 >= 200, 'nothing went out before the storm ended');
});

test('a signature from the wrong key, or a stale timestamp, is refused as TokenException', async () => {
  const { logger } = captureLogger();
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const wrong = new KalshiRest({ baseUrl: sim.restUrl, credentials: { keyId: sim.keyId, privateKey: other }, limiter, clock, logger });
  await assert.rejects(wrong.getBalance(), (e: VenueError) => e.kind === 'TokenException' && e.status === 401);
  const skewed = new TestClock(Date.now() - 10_000);
  const stale = new KalshiRest({ baseUrl: sim.restUrl, credentials: { keyId: sim.keyId, privateKey: loadPrivateKey({ path: sim.privateKeyPath }) }, limiter: new FakeLimiter(skewed), clock: skewed, logger });
  await assert.rejects(stale.getBalance(), (e: VenueError) => e.kind === 'TokenException');
});

test('no log line ever carries the private key or a signature', () => {
  const all = lines.join('\n');
  assert.equal(all.includes('PRIVATE KEY'), false);
  assert.equal(/KALSHI-ACCESS-SIGNATURE"?\s*:\s*"[A-Za-z0-9+/]{20,}/.test(all), false);
});
