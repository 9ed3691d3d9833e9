/** Access tokens die at the next 06:00 IST by the sim Clock; TOTP is checked against that Clock too. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KiteConnect } from 'kiteconnect';
import { generateSync } from 'otplib';
import { TestClock } from '../../../actors/clock.ts';
import { nextSixAmIst } from '../../../exchanges/kite/time.ts';
import { kiteFetch, loginForRequestToken, startTestSim } from './helpers.ts';

test('nextSixAmIst: 06:00 IST is 00:30 UTC; a token issued after 06:00 lives until tomorrow 06:00', () => {
  // 2026-11-23 09:30 IST
  assert.equal(nextSixAmIst(Date.UTC(2026, 10, 23, 4, 0)), Date.UTC(2026, 10, 24, 0, 30));
  // 2026-11-24 05:59 IST → same morning
  assert.equal(nextSixAmIst(Date.UTC(2026, 10, 24, 0, 29)), Date.UTC(2026, 10, 24, 0, 30));
  // exactly 06:00 IST → the next day
  assert.equal(nextSixAmIst(Date.UTC(2026, 10, 24, 0, 30)), Date.UTC(2026, 10, 25, 0, 30));
  // 23:00 UTC = 04:30 IST next day
  assert.equal(nextSixAmIst(Date.UTC(2026, 10, 23, 23, 0)), Date.UTC(2026, 10, 24, 0, 30));
});

test('a session expires at 06:00 IST: TokenException 403 and the client session-expiry hook', async () => {
  const clock = new TestClock(Date.UTC(2026, 10, 23, 4, 0, 0)); // 09:30 IST
  const { sim } = await startTestSim({ clock });
  try {
    const kc: any = new KiteConnect({ api_key: sim.credentials.apiKey, root: sim.restUrl });
    await kc.generateSession(await loginForRequestToken(sim, clock), sim.credentials.apiSecret);
    let expired = 0;
    kc.setSessionExpiryHook(() => expired++);

    clock.set(Date.UTC(2026, 10, 24, 0, 29, 59)); // 05:59:59 IST next day (jump, no timers)
    assert.equal((await kc.getProfile()).user_id, sim.credentials.userId);

    clock.set(Date.UTC(2026, 10, 24, 0, 30, 0)); // 06:00:00 IST
    await assert.rejects(kc.getProfile(), (e: any) => e.error_type === 'TokenException');
    assert.equal(expired, 1);
    const raw = await kiteFetch(sim, '/user/profile', { token: kc.access_token });
    assert.equal(raw.status, 403);
    assert.deepEqual(Object.keys((await raw.json()) as object).sort(), ['data', 'error_type', 'message', 'status']);
  } finally {
    await sim.close();
  }
});

test('TOTP is verified against the sim Clock; request_token is short-lived', async () => {
  const clock = new TestClock(Date.UTC(2026, 10, 23, 4, 0, 0));
  const { sim } = await startTestSim({ clock });
  try {
    const { userId, password, totpSecret } = sim.credentials;
    const login = (await (await fetch(`${sim.restUrl}/api/login`, { method: 'POST', body: new URLSearchParams({ user_id: userId, password }) })).json()) as any;
    // A code for a time 10 minutes away from the sim's clock is refused.
    const stale = generateSync({ secret: totpSecret, epoch: Math.floor(clock.now() / 1000) - 600 });
    const res = await fetch(`${sim.restUrl}/api/twofa`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ user_id: userId, request_id: login.data.request_id, twofa_value: stale }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as any).error_type, 'InputException');

    const badPassword = await fetch(`${sim.restUrl}/api/login`, { method: 'POST', body: new URLSearchParams({ user_id: userId, password: 'wrong' }) });
    assert.equal(badPassword.status, 400);

    const rt = await loginForRequestToken(sim, clock);
    clock.set(clock.now() + 10 * 60_000);
    const kc = new KiteConnect({ api_key: sim.credentials.apiKey, root: sim.restUrl });
    await assert.rejects(kc.generateSession(rt, sim.credentials.apiSecret), (e: any) => e.error_type === 'TokenException');
  } finally {
    await sim.close();
  }
});

test('login page is served for the sim api key only; missing X-Kite-Version is an InputException', async () => {
  const { sim } = await startTestSim();
  try {
    const page = await fetch(sim.loginUrl);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /twofa_value/);
    assert.equal((await fetch(`${sim.restUrl}/connect/login?v=3&api_key=other`)).status, 400);
    const token = sim.issueAccessToken();
    const noVersion = await fetch(`${sim.restUrl}/user/profile`, { headers: { Authorization: `token ${sim.credentials.apiKey}:${token}` } });
    assert.equal(noVersion.status, 400);
    assert.equal(((await noVersion.json()) as any).error_type, 'InputException');
  } finally {
    await sim.close();
  }
});
