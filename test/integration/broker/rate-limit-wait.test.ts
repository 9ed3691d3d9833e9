import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { spec } from '../../support/specs.ts';
import { kiteBrokerOnSim } from '../../support/kite-broker.ts';
import { intentTag } from '../../../broker/kite/tag.ts';
import { INFY, placeIntent, sendIntent, sendWhenPriced } from '../../support/recovery-harness.ts';

/**
 * Kite takes 10 orders a second. A burst the limiter could only send after the strategy has
 * stopped waiting for its answer must not be sent at all: what would wait longer than the
 * broker's bound is denied `rate_limited` at once, before any write, and never reaches the
 * exchange; what is accepted does, once each.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const risk = { maxOrderQty: 10, maxOrderValue: 1_000_000_000, maxPosition: 1_000, maxOpenOrders: 100, priceBandBps: 2_000, ordersPerMinute: 6_000 };

test('a burst beyond what the rate limit sends within the wait bound is denied rate_limited, and no denied intent reaches the exchange', async (t) => {
  const { nc, sim } = await kiteBrokerOnSim(t, { name: 'rate-wait-test', strategies: [spec('bursty', { risk })], log, maxPlaceWaitMs: 1_000, before: (s) => s.setPrice(INFY.token, 1500) });
  const limit = { orderType: 'LIMIT' as const, limitPrice: 140_000 };
  assert.equal((await sendWhenPriced(nc, placeIntent('bursty', limit))).status, 'accepted');
  await new Promise((r) => setTimeout(r, 1_100)); // the warm-up order leaves the one-second window

  const burst = Array.from({ length: 60 }, () => placeIntent('bursty', limit));
  const replies = await Promise.all(burst.map((i) => sendIntent(nc, i, 15_000)));
  const accepted = burst.filter((_, k) => replies[k]!.status === 'accepted');
  const denied = replies.filter((r) => r.status === 'denied');
  // Arriving together, 10 go at once and 10 a second later (a 1 s wait is within the bound);
  // the rest would wait 2 s or more. Arrivals spread by a slow machine let a few more through.
  assert.ok(accepted.length >= 10 && accepted.length < 40, `accepted ${accepted.length}`);
  assert.equal(accepted.length + denied.length, 60);
  for (const d of denied) {
    assert.equal(d.status === 'denied' && d.rule, 'rate_limited', JSON.stringify(d));
    assert.ok(d.status === 'denied' && Number(d.figures?.actual) > 1_000, JSON.stringify(d));
  }
  const tags = new Set(sim.orders().map((o) => o.tag));
  assert.equal(sim.orders().length, 1 + accepted.length, 'one order per accepted intent, nothing more');
  for (const i of burst) assert.equal(tags.has(intentTag(i.intentId)), accepted.includes(i), `intent ${i.intentId}`);
});
