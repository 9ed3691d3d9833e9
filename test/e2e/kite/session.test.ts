import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TestClock } from '../../../actors/clock.ts';
import { createLogger } from '../../../actors/logger.ts';
import { registry } from '../../../actors/metrics.ts';
import { SharedLimiter } from '../../../broker/limiter/shared-limiter.ts';
import { kiteLimits } from '../../../broker/limiter/limits.ts';
import { startKiteSim } from '../../../exchanges/kite/index.ts';
import { buildKiteVenue, kiteEnvSettings } from '../../../supervisor/venues/kite.ts';
import { envFor, ist, metricsText, startWithSim, strategyYaml } from '../../support/kite-harness.ts';
import { eventually } from '../../support/wait.ts';

const quiet = createLogger({ level: 'silent' });

test('orch start logs in with TOTP, and the token dying at 06:00 IST is renewed while trading continues', async () => {
  // Exchange, session manager and broker share one clock that starts a minute before the expiry.
  const clock = new TestClock(ist('2026-11-24T05:59:00'));
  const e = await startWithSim({ clock, yaml: strategyYaml('dawn', { every: 10, maxOrders: 40, side: 'ALTERNATE' }) });
  try {
    const cache = await stat(join(e.dir, 'kite-token.json'));
    assert.equal(cache.mode & 0o777, 0o600, 'the cached token is readable by its owner only');
    assert.match(await metricsText(e.sys), new RegExp(`^orch_kite_token_expiry_timestamp_seconds ${ist('2026-11-24T06:00:00') / 1000}$`, 'm'));
    await eventually(() => e.clock.now() > ist('2026-11-24T06:00:30'), 'the clock to pass 06:00 IST', 30_000);
    const after = await eventually(() => e.sim.orders().filter((o) => o.order_timestamp >= '2026-11-24 06:00:02').length >= 2 || undefined, 'orders after the renewal', 30_000);
    assert.ok(after);
    assert.ok(e.sim.orders().some((o) => o.order_timestamp < '2026-11-24 06:00:00'), 'orders before the expiry too');
    await eventually(async () => new RegExp(`^orch_kite_token_expiry_timestamp_seconds ${ist('2026-11-25T06:00:00') / 1000}$`, 'm').test(await metricsText(e.sys)), 'the renewed expiry on /metrics');
    // Every reply was an acceptance, and each accepted intent is one order at the exchange.
    await new Promise((r) => setTimeout(r, 300));
    const replies = [...e.replies];
    assert.ok(replies.every((r) => r.status === 'accepted'), JSON.stringify(replies.filter((r) => r.status !== 'accepted')));
    const tags = e.sim.orders().map((o) => o.tag);
    assert.equal(new Set(tags).size, tags.length, 'no duplicate order');
  } finally {
    await e.stop();
  }
});

test('a request made after 06:00 IST, before the scheduled renewal, waits for the fresh token instead of failing', async () => {
  const clock = new TestClock(ist('2026-11-24T05:59:00'));
  const sim = await startKiteSim({ clock, seed: 5, tickIntervalMs: 3_600_000, logger: quiet });
  const limiter = new SharedLimiter({ clock, limits: kiteLimits(), logger: quiet });
  const venue = await buildKiteVenue({ clock, log: quiet, limiter, env: envFor(sim) });
  try {
    const before = venue.account.accessToken();
    assert.ok(before);
    // Past the expiry without firing the renewal timer (due at 06:00:01).
    clock.set(ist('2026-11-24T06:00:00.500'));
    assert.equal(venue.account.accessToken(), undefined, 'the old token is dead');
    const orders = await venue.adapter.orders();
    assert.ok(Array.isArray(orders));
    assert.notEqual(venue.account.accessToken(), before, 'a fresh token was fetched for the request');
  } finally {
    await venue.close();
    await sim.close();
  }
});

test('a failed login is logged and counted by reason, for the failed re-auth kill trigger', async () => {
  const clock = new TestClock(ist('2026-11-24T09:30:00'));
  const sim = await startKiteSim({ clock, seed: 6, logger: quiet });
  const limiter = new SharedLimiter({ clock, limits: kiteLimits(), logger: quiet });
  const count = async () => Number(/^orch_kite_login_failures_total\{reason="start"\} (\d+)/m.exec(await registry.metrics())?.[1] ?? 0);
  const n0 = await count();
  try {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    await assert.rejects(buildKiteVenue({ clock, log: quiet, limiter, env: envFor(sim, { KITE_PASSWORD: wrong }) }), (err: Error) => !err.message.includes(wrong));
    assert.equal(await count(), n0 + 1);
    // A half-configured account is refused by variable name, never by value.
    const password = `pw-${randomBytes(8).toString('hex')}`;
    assert.throws(() => kiteEnvSettings({ KITE_API_KEY: 'k', KITE_PASSWORD: password }), (err: Error) => /KITE_API_SECRET/.test(err.message) && !err.message.includes(password));
    assert.equal(kiteEnvSettings({}), undefined, 'no credentials = paper trading');
  } finally {
    await sim.close();
  }
});
