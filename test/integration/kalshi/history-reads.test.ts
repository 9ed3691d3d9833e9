import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../../actors/clock.ts';
import { startKalshiSim } from '../../../exchanges/kalshi/index.ts';
import { KalshiVenue } from '../../../broker/kalshi/index.ts';
import { KalshiAdapter, kalshiPort } from '../../../broker/kalshi/adapter.ts';
import { captureLogger } from '../../support/kalshi-helpers.ts';
import { FakeLimiter } from '../../support/fake-limiter.ts';

/**
 * What reconciliation reads after a restart, end to end against the built-in exchange: the
 * orders created since a time in any status, and the fills since a time, page by page (Kalshi's
 * `min_ts` in Unix seconds, `status`, `limit`, `cursor`).
 */
test('orders and fills since a time come back in every status, page by page, and nothing older', async (t) => {
  const clock = new TestClock(Date.UTC(2026, 11, 3, 9, 0, 0));
  const sim = await startKalshiSim({ clock, tier: 'premier', seed: 21 });
  t.after(() => sim.close());
  const { logger } = captureLogger();
  const venue = new KalshiVenue({
    restUrl: sim.restUrl, wsUrl: sim.wsUrl, keyId: sim.keyId, privateKey: { path: sim.privateKeyPath },
    limiter: new FakeLimiter(clock), logger, clock, lookupDelayMs: 0, random: () => 0.5,
  });
  const market = sim.markets[0]!;
  const bid = sim.engine.top(market).bid![0];
  const place = (clientOrderId: string) => venue.rest.createOrder({ ticker: market, side: 'bid', price: bid, count: 100, clientOrderId });

  const old = await place('old-one');
  await clock.advance(60_000);
  const since = Math.floor(clock.now() / 1000);
  await place('kept');
  const cancelled = await place('cancelled');
  await venue.rest.cancelOrder(cancelled.order_id);
  // The whole best-bid level trades: 'old-one' and 'kept' fill now, after `since`.
  const [price, total] = sim.engine.levels(market).yes.at(-1)!;
  sim.engine.place({ ticker: market, side: 'ask', price, count: total, timeInForce: 'good_till_canceled' }, 'mm');

  const orders = await venue.rest.getAllOrders({ minTs: since, limit: 1 });
  assert.deepEqual(orders.map((o) => [o.clientOrderId, o.status]).sort(), [['cancelled', 'canceled'], ['kept', 'executed']]);
  assert.deepEqual((await venue.rest.getAllOrders({ minTs: since, status: 'executed' })).map((o) => o.clientOrderId), ['kept']);
  const fills = await venue.rest.getAllFills({ minTs: since, limit: 1 });
  assert.deepEqual(fills.map((f) => f.clientOrderId).sort(), ['kept', 'old-one']);
  assert.deepEqual((await venue.rest.getAllFills({ minTs: since + 3600 })), []);

  // A fresh adapter (a restart) that knows only the log's intent ids finds both fills.
  const adapter = new KalshiAdapter({ port: kalshiPort(venue), clock, log: logger });
  const found = await adapter.orders({ sinceMs: since * 1000, open: [{ intentId: 'old-one', venueOrderId: old.order_id }, { intentId: 'kept' }] });
  assert.deepEqual(
    found.filter((o) => o.intentId).map((o) => [o.intentId, o.state, o.filledQty]).sort(),
    [['kept', 'filled', 100], ['old-one', 'filled', 100]],
  );
});

test('a min_ts that is not a Unix time in seconds is refused with the field named', async (t) => {
  const sim = await startKalshiSim({ seed: 22 });
  t.after(() => sim.close());
  const { logger } = captureLogger();
  const clock = new TestClock(Date.now());
  const venue = new KalshiVenue({
    restUrl: sim.restUrl, wsUrl: sim.wsUrl, keyId: sim.keyId, privateKey: { path: sim.privateKeyPath },
    limiter: new FakeLimiter(clock), logger, clock, lookupDelayMs: 0, random: () => 0.5,
  });
  await assert.rejects(venue.rest.getFills({ minTs: 1.5 }), /min_ts/);
});
