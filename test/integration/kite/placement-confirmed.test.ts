import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../../actors/clock.ts';
import { createLogger } from '../../../actors/logger.ts';
import { SharedLimiter } from '../../../broker/limiter/shared-limiter.ts';
import { kiteLimits } from '../../../broker/limiter/limits.ts';
import type { VenueOrder } from '../../../broker/venue.ts';
import { buildKiteVenue } from '../../../supervisor/venues/kite.ts';

const quiet = createLogger({ level: 'silent' });
const INFY = 408065;
const SBIN = 779521;

/**
 * Kite sends no WebSocket order update for a placement (docs/venues/kite.md, "Order updates"),
 * and the built-in exchange does the same. The adapter must learn that a resting order is OPEN
 * from REST, even while pushes about other orders keep arriving (they used to hold the poll off).
 */
test('a resting order is confirmed OPEN over REST while pushes about other orders keep coming', async () => {
  const limiter = new SharedLimiter({ clock: systemClock, limits: kiteLimits(), logger: quiet });
  const venue = await buildKiteVenue({ clock: systemClock, log: quiet, limiter, sim: { seed: 9, tickIntervalMs: 3_600_000 } });
  const sim = venue.sim!;
  const seen: VenueOrder[] = [];
  venue.adapter.on('order', (o) => seen.push(o));
  let n = 0;
  const place = (symbol: string, limitPrice: number) =>
    venue.adapter.place({ intentId: `confirm-${symbol}-${++n}`, symbol, side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice }, 'place', Promise.resolve());
  let filling = true;
  try {
    await venue.adapter.start();
    sim.setPrice(INFY, 1500);
    sim.setPrice(SBIN, 800);
    // A marketable order every 300 ms: each fill is pushed (postback and ticker frame).
    const churn = (async () => {
      while (filling) {
        await place('NSE:INFY', 151_000);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    await new Promise((r) => setTimeout(r, 700));
    const { venueOrderId } = await place('NSE:SBIN', 70_000);
    const deadline = Date.now() + 4_000;
    while (!seen.some((o) => o.venueOrderId === venueOrderId && o.state === 'open') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    filling = false;
    await churn;
    assert.ok(seen.some((o) => o.venueOrderId === venueOrderId && o.state === 'open'), 'the resting order was confirmed open');
    assert.ok(seen.filter((o) => o.symbol === 'NSE:INFY' && o.state === 'filled').length >= 3, 'pushes kept coming meanwhile');
    assert.match(venueOrderId, /^\d{19}$/);
    assert.equal(sim.orders().find((o) => o.order_id === venueOrderId)?.status, 'OPEN');
  } finally {
    filling = false;
    await venue.adapter.stop();
    await venue.close();
    limiter.close();
  }
});
