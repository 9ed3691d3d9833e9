import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { TestClock } from '../../../actors/clock.ts';
import { startKiteSim } from '../../../exchanges/kite/index.ts';
import { KiteRestClient } from '../../../broker/kite/rest-client.ts';
import { SharedLimiter } from '../../../broker/limiter/shared-limiter.ts';
import { kiteLimits } from '../../../broker/limiter/limits.ts';
import type { RateLimiter } from '../../../broker/limiter/types.ts';
import { VenueError } from '../../../broker/venue-errors.ts';

const quiet = pino({ level: 'silent' });
const MINUTE = 60_000;
const STEP_MS = 50;

test('orders demanded at 3x the allowed rate for 60 simulated seconds: zero 429s from the exchange, at least 95% of the rate used', async () => {
  // Off the second and minute boundaries, so calendar alignment cannot help.
  const clock = new TestClock(Date.UTC(2026, 10, 23, 4, 30, 0, 0) + 337);
  const sim = await startKiteSim({ clock, port: 0, seed: 3, tickIntervalMs: 3_600_000, logger: quiet });
  const shared = new SharedLimiter({ clock, limits: kiteLimits(), registry: new Registry() });
  // Counts calls between the limiter's grant and the exchange's answer, so simulated time only
  // moves once every granted request has really reached the exchange.
  let onTheWire = 0;
  const limiter: RateLimiter = {
    acquire: async (c, o) => { const settle = await shared.acquire(c, o); onTheWire++; return settle; },
    pauseUntil: (c, t) => shared.pauseUntil(c, t),
    snapshot: () => shared.snapshot(),
  };
  const token = sim.issueAccessToken();
  const rest = new KiteRestClient({ root: sim.restUrl, apiKey: sim.credentials.apiKey, getAccessToken: () => token, limiter, clock, logger: quiet, timeoutMs: 5_000 });
  let placed = 0;
  let throttled = 0;
  const other: string[] = [];
  const calls: Promise<void>[] = [];
  const t0 = clock.now();
  // The binding limit for placements is 400/min; demand 600/min = 10/s.
  const demandEveryMs = 100;
  let n = 0;
  try {
    for (let t = 0; t < MINUTE; t += STEP_MS) {
      while (n * demandEveryMs <= t) {
        n++;
        calls.push(
          rest.placeOrder('regular', { exchange: 'NSE', tradingsymbol: 'INFY', transaction_type: n % 2 ? 'BUY' : 'SELL', order_type: 'MARKET', ...{ market_protection: -1 }, quantity: 1, product: 'MIS', tag: `burst${n}` })
            .then(() => { placed++; }, (e: unknown) => {
              if (e instanceof VenueError && e.kind === 'RateLimited') throttled++;
              else if (!(e instanceof Error && /closed/i.test(e.message))) other.push(String(e));
            })
            .finally(() => { onTheWire = Math.max(0, onTheWire - 1); }),
        );
      }
      await clock.advance(STEP_MS);
      const deadline = Date.now() + 5_000;
      while (onTheWire > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    }
    assert.equal(clock.now() - t0, MINUTE);
    shared.close(); // the excess demand still queued never reaches the exchange
    await Promise.allSettled(calls);
    assert.equal(throttled, 0, 'no 429 from the exchange');
    assert.deepEqual(other, []);
    assert.ok(placed >= 0.95 * 400, `used ${placed} of the 400 placements a minute allows`);
    // The run covers both ends of the minute: one more may go at exactly t0 + 60 s.
    assert.ok(placed <= 401, `placed ${placed}`);
    assert.equal(sim.orders().length, placed, 'the exchange holds exactly what was acknowledged');
  } finally {
    shared.close();
    await sim.close();
  }
});
