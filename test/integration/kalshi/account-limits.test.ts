import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../../actors/clock.ts';
import { startKalshiSim, type SimTier } from '../../../exchanges/kalshi/index.ts';
import { KalshiVenue } from '../../../broker/kalshi/index.ts';
import { SharedLimiter } from '../../../broker/limiter/shared-limiter.ts';
import { kalshiLimits, type KalshiTier } from '../../../broker/limiter/limits.ts';
import { KalshiRest } from '../../../broker/kalshi/rest.ts';
import { loadPrivateKey } from '../../../broker/kalshi/signing.ts';
import type { VenueError } from '../../../broker/venue-errors.ts';
import { captureLogger, eventually, flush } from '../../support/kalshi-helpers.ts';
import { FakeLimiter } from '../../support/fake-limiter.ts';

/**
 * The shared limiter is sized from the account's own token buckets, read at start from
 * GET /account/limits and GET /account/endpoint_costs; the tier table is only the fallback.
 * The exchange and the client share a TestClock that never moves here: whatever needs the
 * limiter to wait never goes out, and whatever the exchange refuses is a 429.
 */
async function setup(accountTier: SimTier, configuredTier: KalshiTier) {
  const clock = new TestClock(Date.now());
  const sim = await startKalshiSim({ clock, tier: accountTier, seed: 9 });
  const limiter = new SharedLimiter({ clock, limits: kalshiLimits(configuredTier) });
  const { logger, lines } = captureLogger();
  const venue = new KalshiVenue({
    restUrl: sim.restUrl, wsUrl: sim.wsUrl, keyId: sim.keyId, privateKey: { path: sim.privateKeyPath },
    limiter, logger, clock, random: () => 0, lookupDelayMs: 0,
  });
  const close = async () => {
    await venue.close();
    limiter.close();
    await sim.close();
  };
  return { clock, sim, limiter, venue, lines, close };
}
const bucket = (l: SharedLimiter, c: string) => l.snapshot().find((b) => b.category === c)!;

test('an Advanced account configured as Basic gets its own budget: the 2 s write burst of 60 creates goes out at once, none refused', async () => {
  const { sim, limiter, venue, lines, close } = await setup('advanced', 'basic');
  try {
    await venue.connect();
    assert.equal(bucket(limiter, 'kalshi.write').capacity, 600, 'sized from GET /account/limits');
    assert.equal(bucket(limiter, 'kalshi.read').capacity, 300);
    const t = sim.markets[0]!;
    let done = 0;
    let refused = 0;
    for (let i = 0; i < 60; i++) {
      void venue.placeOrder({ ticker: t, side: 'bid', price: 100, count: 100, clientOrderId: `burst-${i}` })
        .then(() => done++, () => refused++);
    }
    await eventually(() => done + refused === 60, '60 creates without the clock moving');
    assert.deepEqual([done, refused, sim.orders().length], [60, 0, 60]);
    assert.ok(lines.some((l) => l.includes('kalshi rate limits from the account') && l.includes('"tier":"advanced"')));
  } finally {
    await close();
  }
});

test('cancels cost what the account says (2 tokens): after 9 creates, 5 cancels fit the same second of a Basic bucket', async () => {
  const { sim, venue, close } = await setup('basic', 'basic');
  try {
    await venue.connect();
    const t = sim.markets[1]!;
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) ids.push((await venue.placeOrder({ ticker: t, side: 'bid', price: 100, count: 100, clientOrderId: `c-${i}` })).orderId);
    let cancelled = 0;
    for (const id of ids.slice(0, 5)) void venue.cancelOrder(id).then(() => cancelled++);
    await eventually(() => cancelled === 5, 'five cancels in the 10 tokens left');
    assert.equal(sim.orders().filter((o) => o.status === 'canceled').length, 5);
  } finally {
    await close();
  }
});

test('when the account limits cannot be read, the configured tier stays and trading goes on', async () => {
  const { sim, limiter, venue, lines, close } = await setup('advanced', 'basic');
  try {
    sim.faults.failNext(2, 403); // both account reads refused (403 is never retried)
    await venue.connect();
    await flush();
    assert.equal(bucket(limiter, 'kalshi.write').capacity, 100, 'Basic, as configured');
    assert.ok(lines.some((l) => l.includes('kalshi account limits unreadable')));
    await venue.placeOrder({ ticker: sim.markets[0]!, side: 'bid', price: 100, count: 100, clientOrderId: 'after-fallback' });
    assert.equal(sim.orders().length, 1);
  } finally {
    await close();
  }
});

test('the exchange holds an Advanced key to its own buckets: a 2 s write burst of 60 creates, the 61st a bare 429, 6 more after 200 ms', async () => {
  const clock = new TestClock(Date.now());
  const sim = await startKalshiSim({ clock, tier: 'advanced', seed: 2 });
  try {
    const { logger } = captureLogger();
    const rest = new KalshiRest({
      baseUrl: sim.restUrl, credentials: { keyId: sim.keyId, privateKey: loadPrivateKey({ path: sim.privateKeyPath }) },
      limiter: new FakeLimiter(clock), clock, logger, maxRateLimitRetries: 0, random: () => 0, // no backoff pause: the exchange alone decides
    });
    const order = (i: number) => ({ ticker: sim.markets[0]!, side: 'bid' as const, price: 100, count: 100, clientOrderId: `adv-${i}` });
    for (let i = 0; i < 60; i++) await rest.createOrder(order(i)); // 600 tokens: two seconds of 300
    await assert.rejects(rest.createOrder(order(60)), (e: VenueError) => e.kind === 'RateLimited');
    await clock.advance(200); // 60 tokens back
    for (let i = 61; i < 67; i++) await rest.createOrder(order(i));
    await assert.rejects(rest.createOrder(order(67)), (e: VenueError) => e.kind === 'RateLimited');
    assert.equal(sim.orders().length, 66);
  } finally {
    await sim.close();
  }
});
