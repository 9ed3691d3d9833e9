import { eventually } from '../../support/wait.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../../actors/clock.ts';
import { createLogger } from '../../../actors/logger.ts';
import { startKiteSim, type KiteSim } from '../../../exchanges/kite/index.ts';
import { VenueError } from '../../../broker/venue-errors.ts';
import { KiteOrderWriter } from '../../../broker/kite/order-writer.ts';
import { KiteRestClient } from '../../../broker/kite/rest-client.ts';
import { KiteRetry } from '../../../broker/kite/retry.ts';
import { KiteSessionManager } from '../../../broker/kite/session.ts';
import { intentTag } from '../../../broker/kite/tag.ts';
import { KiteTickerClient } from '../../../broker/kite/ticker-client.ts';
import type { Tick } from '../../../broker/kite/ticker-parser.ts';
import { FakeLimiter } from '../../support/fake-limiter.ts';

/** The real clients against the built-in Kite exchange, on one TestClock. */

const quiet = createLogger({ level: 'silent' });
const ist = (s: string) => Date.parse(`${s}+05:30`);

/** Moves the shared clock in steps, giving real sockets a moment between steps. */
async function advance(clock: TestClock, ms: number, step = 250): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advance(Math.min(step, ms - t));
    await new Promise((r) => setTimeout(r, 2));
  }
}
async function drive<T>(clock: TestClock, p: Promise<T>, step = 250): Promise<T> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  for (let i = 0; !done && i < 2000; i++) {
    await clock.advance(step);
    await new Promise((r) => setTimeout(r, 2));
  }
  return p;
}

function restFor(sim: KiteSim, clock: TestClock, token: () => string | undefined) {
  return new KiteRestClient({ root: sim.restUrl, apiKey: sim.credentials.apiKey, getAccessToken: token, limiter: new FakeLimiter(), clock, logger: quiet });
}

const INFY = { tradingsymbol: 'INFY', exchange: 'NSE', transaction_type: 'BUY', order_type: 'MARKET', ...{ market_protection: -1 }, quantity: 1, product: 'MIS' } as const;

test('sim: full login with TOTP, then renewal around the 06:00 IST expiry keeps REST calls working', async () => {
  const clock = new TestClock(ist('2026-11-23T09:30:00'));
  const sim = await startKiteSim({ clock, port: 0, seed: 1, tickIntervalMs: 3_600_000, logger: quiet });
  const c = sim.credentials;
  const session = new KiteSessionManager({
    credentials: { apiKey: c.apiKey, apiSecret: c.apiSecret }, webLogin: { userId: c.userId, password: c.password, totpSecret: c.totpSecret },
    apiRoot: sim.restUrl, loginRoot: sim.restUrl, clock, limiter: new FakeLimiter(), logger: quiet,
  });
  try {
    await session.start();
    const first = session.currentAccessToken();
    assert.ok(first);
    const rest = restFor(sim, clock, () => session.currentAccessToken());
    assert.ok(Array.isArray(await rest.getOrders()));
    // Just past 06:00 IST the day's first token is dead at the exchange; ours was renewed.
    await clock.advance(ist('2026-11-24T06:00:02') - clock.now());
    await eventually(() => session.currentAccessToken() !== undefined && session.currentAccessToken() !== first, 'renewed token');
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(Array.isArray(await rest.getOrders()), 'the renewed token works after 06:00');
    const stale = restFor(sim, clock, () => first);
    await assert.rejects(stale.getOrders(), (e: VenueError) => e.kind === 'TokenException');
  } finally {
    session.stop();
    await sim.close();
  }
});

test('sim: an order accepted but never answered is found by its tag; exactly one order exists', async () => {
  const clock = new TestClock();
  const sim = await startKiteSim({ clock, port: 0, seed: 2, logger: quiet });
  const token = sim.issueAccessToken();
  const rest = restFor(sim, clock, () => token);
  const writer = new KiteOrderWriter(rest, new KiteRetry({ clock, random: () => 0.5, reauthenticate: async () => undefined, logger: quiet }));
  try {
    sim.faults.acceptThenTimeout(1);
    const tag = intentTag('strategy-a:intent-1');
    const r = await drive(clock, writer.placeOrderIdempotent(tag, INFY));
    assert.equal(r.outcome, 'found');
    const mine = sim.orders().filter((o) => o.tag === tag);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.order_id, r.orderId);
  } finally {
    await sim.close();
  }
});

test('sim: a 429 storm is answered with Retry-After; the placement waits it out and lands once', async () => {
  const clock = new TestClock();
  const sim = await startKiteSim({ clock, port: 0, seed: 3, logger: quiet });
  const token = sim.issueAccessToken();
  const limiter = new FakeLimiter();
  const rest = new KiteRestClient({ root: sim.restUrl, apiKey: sim.credentials.apiKey, getAccessToken: () => token, limiter, clock });
  const writer = new KiteOrderWriter(rest, new KiteRetry({ clock, random: () => 0.5, reauthenticate: async () => undefined, logger: quiet }));
  try {
    sim.faults.rateLimitStorm(2_000);
    const e = await rest.placeOrder('regular', { ...INFY, tag: 'probe1' }).catch((x: unknown) => x);
    assert.ok(e instanceof VenueError && e.kind === 'RateLimited', String(e));
    assert.ok((e.retryAfterMs ?? 0) >= 1000, `Retry-After kept: ${e.retryAfterMs}`);
    assert.equal(limiter.pauses[0]!.category, 'kite.orders');
    const tag = intentTag('storm');
    const started = clock.now();
    const r = await drive(clock, writer.placeOrderIdempotent(tag, INFY));
    assert.equal(r.outcome, 'placed');
    assert.ok(clock.now() - started >= 1000);
    assert.equal(sim.orders().filter((o) => o.tag === tag).length, 1);
  } finally {
    await sim.close();
  }
});

async function tickerSetup(seed: number) {
  const clock = new TestClock();
  const sim = await startKiteSim({ clock, port: 0, seed, logger: quiet });
  const token = sim.issueAccessToken();
  const ticker = new KiteTickerClient({ url: sim.wsUrl, apiKey: sim.credentials.apiKey, getAccessToken: () => token, clock, random: () => 0.5, isMarketOpen: () => false });
  const log: string[] = [];
  for (const ev of ['disconnected', 'reconnected', 'reconcile'] as const) ticker.events.on(ev, () => log.push(ev));
  const ticks: Tick[] = [];
  ticker.events.on('ticks', (t) => ticks.push(...t));
  const tradable = sim.instruments.filter((i) => i.segment !== 'INDICES').map((i) => i.instrumentToken);
  return { clock, sim, ticker, log, ticks, a: tradable[0]!, b: tradable[1]! };
}

async function expectModes(s: Awaited<ReturnType<typeof tickerSetup>>) {
  // Right after a subscribe the venue may stream its default mode until our mode message lands.
  await advance(s.clock, 600);
  await new Promise((r) => setTimeout(r, 20));
  s.ticks.length = 0;
  await advance(s.clock, 1500);
  await eventually(() => s.ticks.some((t) => t.instrumentToken === s.a) && s.ticks.some((t) => t.instrumentToken === s.b), 'ticks for both');
  const kinds = (token: number) => [...new Set(s.ticks.filter((t) => t.instrumentToken === token).map((t) => t.kind))];
  assert.deepEqual(kinds(s.a), ['full']);
  assert.deepEqual(kinds(s.b), ['ltp']);
}

/** A ticker subscribed to `a` in full and `b` in ltp, open; closed with its exchange whatever the body does. */
async function withOpenTicker(seed: number, body: (s: Awaited<ReturnType<typeof tickerSetup>>) => Promise<void>): Promise<void> {
  const s = await tickerSetup(seed);
  try {
    s.ticker.subscribe([s.a], 'full');
    s.ticker.subscribe([s.b], 'ltp');
    s.ticker.start();
    await eventually(() => s.ticker.state.kind === 'open', 'open');
    await body(s);
  } finally {
    s.ticker.close();
    await s.sim.close();
  }
}

test('sim: a dropped ticker goes through disconnected → reconnected → reconcile and gets its modes back', async () => {
  await withOpenTicker(4, async (s) => {
    await expectModes(s);
    s.sim.faults.dropSockets();
    await eventually(() => s.log.length === 1, 'disconnected');
    await advance(s.clock, 1200);
    await eventually(() => s.log.length === 3, 'reconcile');
    assert.deepEqual(s.log, ['disconnected', 'reconnected', 'reconcile']);
    await expectModes(s);
  });
});

test('sim: a stalled ticker (no heartbeat) is dropped after 5 s and recovers', async () => {
  await withOpenTicker(5, async (s) => {
    // Long enough that silence reaches 5 s even when the last frame before the stall is stamped late.
    s.sim.faults.stallSockets(7_000);
    const stalledAt = s.clock.now();
    await advance(s.clock, 4500);
    assert.deepEqual(s.log, []);
    // The last frame before the stall may be stamped a step late (real sockets, stepped clock),
    // and the watchdog looks once a second: the drop comes between 5 s and 5 s + a check + a step.
    while (s.log.length === 0 && s.clock.now() - stalledAt < 7_000) await advance(s.clock, 250);
    assert.deepEqual(s.log, ['disconnected']);
    assert.ok(s.clock.now() - stalledAt >= 5_000, 'not before 5 s of silence');
    await advance(s.clock, 1500);
    await eventually(() => s.log.length === 3, 'reconcile');
    assert.deepEqual(s.log, ['disconnected', 'reconnected', 'reconcile']);
    await expectModes(s);
  });
});

test('sim: refused reconnects back off and the outage is announced once', async () => {
  await withOpenTicker(6, async (s) => {
    s.sim.faults.refuseSockets(true);
    s.sim.faults.dropSockets();
    await advance(s.clock, 7_500); // attempts at +1, +3, +7 s, all refused
    assert.deepEqual(s.log, ['disconnected']);
    assert.equal(s.ticker.state.kind, 'disconnected');
    s.sim.faults.refuseSockets(false);
    await advance(s.clock, 8_500); // next attempt at +15 s
    await eventually(() => s.log.length === 3, 'reconcile');
    assert.deepEqual(s.log, ['disconnected', 'reconnected', 'reconcile']);
    await expectModes(s);
  });
});
