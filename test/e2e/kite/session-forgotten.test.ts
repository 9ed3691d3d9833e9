import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../../actors/clock.ts';
import { createLogger } from '../../../actors/logger.ts';
import { SharedLimiter } from '../../../broker/limiter/shared-limiter.ts';
import { kiteLimits } from '../../../broker/limiter/limits.ts';
import { startKiteSim } from '../../../exchanges/kite/index.ts';
import { buildKiteVenue } from '../../../supervisor/venues/kite.ts';
import { driveClock, envFor, ist } from '../../support/kite-harness.ts';

const quiet = createLogger({ level: 'silent' });

/**
 * A venue that restarts forgets every session: each call with the old token gets 403
 * TokenException. Reads and the ticker handshake take the same re-login path as order writes,
 * so the first read after it logs in again and succeeds (today: every poll 403 for a minute,
 * no login until a kill-switch write happened to need one).
 */
test('after the exchange forgets the session, the next read logs in again and succeeds, and so does the ticker handshake', async () => {
  const clock = new TestClock(ist('2026-11-24T10:00:00'));
  const sim = await startKiteSim({ clock, seed: 5, tickIntervalMs: 3_600_000, logger: quiet });
  const limiter = new SharedLimiter({ clock, limits: kiteLimits(), logger: quiet });
  const venue = await buildKiteVenue({ clock, log: quiet, limiter, env: envFor(sim) });
  const run = async (until: () => boolean, what: string) => {
    const deadline = Date.now() + 20_000;
    while (!until() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(until(), what);
  };
  // Simulated time runs on its own (the ticker's connect and backoff wait on it).
  const stopClock = driveClock(clock);
  try {
    await venue.adapter.start();
    const first = venue.account.accessToken();
    await clock.advance(60_000); // past the session manager's "just logged in" window

    sim.forgetSessions();
    const positions = await venue.adapter.positions();
    assert.ok(Array.isArray(positions), 'the read succeeded');
    const second = venue.account.accessToken();
    assert.ok(second && second !== first, 'with a fresh token from a new login');
    assert.ok(Array.isArray(await venue.adapter.orders()));

    await clock.advance(60_000);
    sim.forgetSessions();
    sim.faults.dropSockets();
    await run(() => venue.account.accessToken() !== second && venue.adapter.connected(), 'the ticker logged in again and reconnected');
    assert.equal(sim.tickerConnections(), 1);
  } finally {
    await stopClock();
    await venue.adapter.stop();
    await venue.close();
    limiter.close();
    await sim.close();
  }
});
