import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestClock } from '../../../actors/clock.ts';
import { createLogger } from '../../../actors/logger.ts';
import { SharedLimiter } from '../../../broker/limiter/shared-limiter.ts';
import { kiteLimits } from '../../../broker/limiter/limits.ts';
import { nextKiteExpiry } from '../../../broker/kite/session.ts';
import { writeTokenFile } from '../../../broker/kite/token-file.ts';
import { startKiteSim, type KiteSim, type WebLoginAnswer } from '../../../exchanges/kite/index.ts';
import { buildKiteVenue } from '../../../supervisor/venues/kite.ts';
import { envFor, ist } from '../../support/kite-harness.ts';

/**
 * Which login runs is the operator's choice: Kite's official one by default, the automated web
 * login (unofficial) only with KITE_AUTO_LOGIN=totp. Requests are counted where the built-in
 * exchange serves kite.zerodha.com's web login pages.
 */

const quiet = createLogger({ level: 'silent' });
const WEB_LOGIN_PATHS = new Set(['/connect/login', '/connect/finish', '/api/login', '/api/twofa']);

async function simWithCounter(clock: TestClock, webLoginAnswer?: WebLoginAnswer) {
  const webLogin: string[] = [];
  const sim = await startKiteSim({
    clock, seed: 3, tickIntervalMs: 3_600_000, logger: quiet, ...(webLoginAnswer ? { webLoginAnswer } : {}),
    observer: { requestReceived: (e) => { if (WEB_LOGIN_PATHS.has(e.path)) webLogin.push(`${e.method} ${e.path}`); } },
  });
  return { sim, webLogin };
}

/** The account's variables without the opt-in: the app's key and secret and where Kite is. */
function officialEnv(sim: KiteSim): Record<string, string> {
  const { KITE_USER_ID: _u, KITE_PASSWORD: _p, KITE_TOTP_SECRET: _t, KITE_AUTO_LOGIN: _a, ...rest } = envFor(sim);
  return rest;
}

test('without KITE_AUTO_LOGIN no web login request is ever made: not at start, not at the 06:00 expiry, not on TokenException, not at market open', async () => {
  const clock = new TestClock(ist('2026-11-24T05:58:00'));
  const { sim, webLogin } = await simWithCounter(clock);
  const dir = await mkdtemp(join(tmpdir(), 'orch-kite-official-'));
  const limiter = new SharedLimiter({ clock, limits: kiteLimits(), logger: quiet });
  const logins: { ok: boolean; atMarketOpen: boolean | undefined }[] = [];
  try {
    // No token stored yet: start refuses, saying what to do, and tries nothing else.
    await assert.rejects(buildKiteVenue({ clock, log: quiet, limiter, env: officialEnv(sim), stateDir: dir }), (err: Error) => /run `orch login kite`/.test(err.message) && !err.message.includes(sim.credentials.apiSecret));
    assert.deepEqual(webLogin, []);

    // The token `orch login kite` stores (here straight from the exchange).
    await writeTokenFile(join(dir, 'kite-token.json'), { accessToken: sim.issueAccessToken(), userId: sim.credentials.userId, expiresAt: nextKiteExpiry(clock.now()) });
    const venue = await buildKiteVenue({ clock, log: quiet, limiter, env: officialEnv(sim), stateDir: dir, onLogin: (ok, atMarketOpen) => logins.push({ ok, atMarketOpen }) });
    try {
      assert.ok(Array.isArray(await venue.adapter.orders()), 'the stored token trades');
      assert.equal(venue.account.userId, sim.credentials.userId, 'no user id configured: the stored token\'s');
      // Past 06:00: the token dies, the session only reads the file again.
      await clock.advance(ist('2026-11-24T06:03:00') - clock.now());
      await assert.rejects(venue.adapter.orders(), /orch login kite/);
      // Kite forgets every session: a TokenException is answered the same way.
      sim.forgetSessions();
      await assert.rejects(venue.adapter.orders(), /orch login kite/);
      assert.ok(!logins.some((l) => !l.ok), 'waiting for the operator is not a failed re-auth before the open');
      await clock.advance(ist('2026-11-24T09:16:00') - clock.now());
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(logins.filter((l) => !l.ok), [{ ok: false, atMarketOpen: true }], 'at 09:15 the re-auth trigger hears it, once');
      assert.deepEqual(webLogin, [], 'not one request to the web login');
    } finally {
      await venue.close();
    }
  } finally {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
});

for (const answer of ['json', 'redirect'] as const) {
  test(`KITE_AUTO_LOGIN=totp logs in through the web login when its TOTP step answers with ${answer === 'json' ? 'JSON (the login URL then redirects)' : 'a redirect'}`, async () => {
    const clock = new TestClock(ist('2026-11-24T10:00:00'));
    const { sim, webLogin } = await simWithCounter(clock, answer);
    const dir = await mkdtemp(join(tmpdir(), 'orch-kite-web-'));
    const limiter = new SharedLimiter({ clock, limits: kiteLimits(), logger: quiet });
    try {
      const venue = await buildKiteVenue({ clock, log: quiet, limiter, env: envFor(sim), stateDir: dir });
      try {
        assert.ok(Array.isArray(await venue.adapter.orders()), 'the token from the web login trades');
        const expected = answer === 'json'
          ? ['GET /connect/login', 'POST /api/login', 'POST /api/twofa', 'GET /connect/login', 'GET /connect/finish']
          : ['GET /connect/login', 'POST /api/login', 'POST /api/twofa'];
        assert.deepEqual(webLogin, expected);
      } finally {
        await venue.close();
      }
    } finally {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
