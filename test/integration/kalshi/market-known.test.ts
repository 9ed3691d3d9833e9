import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SystemClock } from '../../../actors/clock.ts';
import { startKalshiSim } from '../../../exchanges/kalshi/index.ts';
import { KalshiVenue } from '../../../broker/kalshi/index.ts';
import { KalshiAdapter, kalshiPort } from '../../../broker/kalshi/adapter.ts';
import { captureLogger } from '../../support/kalshi-helpers.ts';
import { FakeLimiter } from '../../support/fake-limiter.ts';

/**
 * The registry check's Kalshi side (docs/venues/kalshi.md, "Markets"): GET /markets/{ticker}
 * answers 404 for a ticker Kalshi does not list, and the built-in exchange answers the same.
 */
test('a market ticker the exchange does not list answers 404 and is unknown; a listed one is known', async (t) => {
  const clock = new SystemClock();
  const sim = await startKalshiSim({ clock, seed: 3 });
  t.after(() => sim.close());
  const listed = sim.markets[0]!;

  // The wire: no credentials needed for market data, and an unknown ticker is a 404.
  const missing = await fetch(`${sim.restUrl}/markets/KXNOSUCH-26DEC-T1.00`);
  assert.equal(missing.status, 404);
  assert.equal((await fetch(`${sim.restUrl}/markets/${encodeURIComponent(listed)}`)).status, 200);

  const { logger } = captureLogger();
  const venue = new KalshiVenue({
    restUrl: sim.restUrl, wsUrl: sim.wsUrl, keyId: sim.keyId, privateKey: { path: sim.privateKeyPath },
    limiter: new FakeLimiter(clock), logger, clock, random: () => 0.5,
  });
  const adapter = new KalshiAdapter({ port: kalshiPort(venue), clock, log: logger });
  assert.equal(await adapter.knows(listed), true);
  assert.equal(await adapter.knows('KXNOSUCH-26DEC-T1.00'), false);
  // Settled or closed is still listed: known (placing there is refused by the market's status).
  sim.engine.markets.get(listed)!.status = 'closed';
  venue.markets.invalidate();
  assert.equal(await adapter.knows(listed), true);
});

test('a venue that cannot be asked cannot tell: the ticker is neither known nor refused', async () => {
  const clock = new SystemClock();
  const { logger, lines } = captureLogger();
  const venue = new KalshiVenue({
    restUrl: 'http://127.0.0.1:1/trade-api/v2', wsUrl: 'ws://127.0.0.1:1/trade-api/ws/v2', keyId: 'k', privateKey: (await import('node:crypto')).generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
    limiter: new FakeLimiter(clock), logger, clock, random: () => 0, requestTimeoutMs: 500,
  });
  const adapter = new KalshiAdapter({ port: kalshiPort(venue), clock, log: logger });
  assert.equal(await adapter.knows('KXFED-26DEC-T4.00'), undefined);
  assert.ok(lines.some((l) => l.includes('not checked')), 'the skipped check is logged');
});
