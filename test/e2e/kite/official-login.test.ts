import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { TestClock } from '../../../actors/clock.ts';
import { createLogger } from '../../../actors/logger.ts';
import { intentTag } from '../../../broker/kite/tag.ts';
import { startKiteSim, type KiteSim } from '../../../exchanges/kite/index.ts';
import { loginKite } from '../../../supervisor/commands/login.ts';
import { ist, startE2E, strategyYaml } from '../../support/kite-harness.ts';
import { eventually } from '../../support/wait.ts';

/**
 * Kite's official flow end to end: `orch login kite` against the built-in exchange, with this
 * test as the browser, then the start path trading on the stored token alone: no user id,
 * password or TOTP secret anywhere in its environment.
 */

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => resolve(p));
  });
});

/**
 * What a browser does with the printed URL: the login page, the password, the TOTP (answered
 * with JSON and the session cookie), the login URL again, and its redirects, the last of them to
 * the app's registered redirect URL: the local port `orch login kite` listens on.
 */
async function browserLogin(sim: KiteSim, loginUrl: string, clock: TestClock): Promise<void> {
  const c = sim.credentials;
  assert.equal((await fetch(loginUrl)).status, 200, 'the login page');
  const pw = (await (await fetch(new URL('/api/login', sim.restUrl), { method: 'POST', body: new URLSearchParams({ user_id: c.userId, password: c.password }) })).json()) as { data: { request_id: string } };
  const code = await generate({ secret: c.totpSecret, epoch: Math.floor(clock.now() / 1000) });
  const twofa = await fetch(new URL('/api/twofa', sim.restUrl), {
    method: 'POST', redirect: 'manual', body: new URLSearchParams({ user_id: c.userId, request_id: pw.data.request_id, twofa_type: 'totp', twofa_value: code }),
  });
  assert.equal(twofa.status, 200, 'the JSON answer');
  const cookie = twofa.headers.getSetCookie().map((sc) => sc.split(';')[0]).join('; ');
  assert.ok(cookie, 'the session cookie');
  let url = loginUrl;
  for (let hop = 0; hop < 5; hop++) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie } });
    const next = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !next) {
      assert.equal(res.status, 200, `the last page (${new URL(url).pathname})`);
      return;
    }
    url = new URL(next, url).toString();
  }
  assert.fail('too many redirects');
}

test('orch login kite (the test as the browser), then the start path trades on the stored token with no user id, password or TOTP secret in its environment', async () => {
  const clock = new TestClock(ist('2026-11-24T10:00:00'));
  const port = await freePort();
  const webLogin: string[] = [];
  const sim = await startKiteSim({
    clock, seed: 11, tickIntervalMs: 200, webLoginAnswer: 'json', logger: createLogger({ level: 'silent' }),
    credentials: { redirectUrl: `http://127.0.0.1:${port}/` },
    observer: { requestReceived: (r) => { if (r.path.startsWith('/api/') || r.path.startsWith('/connect/')) webLogin.push(r.path); } },
  });
  const dir = await mkdtemp(join(tmpdir(), 'orch-official-'));
  try {
    const c = sim.credentials;
    const roots = { KITE_API_ROOT: sim.restUrl, KITE_LOGIN_ROOT: sim.restUrl };
    let printed!: (url: string) => void;
    const urlSeen = new Promise<string>((r) => { printed = r; });
    const lines: string[] = [];
    const login = loginKite(['kite', '--port', String(port), '--state-dir', dir], { KITE_API_KEY: c.apiKey, KITE_API_SECRET: c.apiSecret, ...roots }, (l) => {
      lines.push(l);
      if (l.includes('/connect/login')) printed(l.trim());
    }, clock);
    await browserLogin(sim, await urlSeen, clock);
    assert.equal(await login, 0, lines.join('\n'));
    const tokenFile = join(dir, 'kite-token.json');
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
    assert.equal((JSON.parse(await readFile(tokenFile, 'utf8')) as { expiresAt: number }).expiresAt, ist('2026-11-25T06:00:00'));
    const loginRequests = webLogin.length;

    const env = { KITE_API_KEY: c.apiKey, KITE_API_SECRET: c.apiSecret, ...roots, KITE_WS_URL: sim.wsUrl, KITE_POSTBACK_PORT: '0' };
    for (const k of ['KITE_USER_ID', 'KITE_PASSWORD', 'KITE_TOTP_SECRET', 'KITE_AUTO_LOGIN']) assert.ok(!(k in env));
    const e = await startE2E({ yaml: strategyYaml('official', { every: 5, maxOrders: 2, side: 'BUY' }), clock, system: { env, stateDir: dir } });
    try {
      sim.setPostbackUrl(e.sys.kitePostbackUrl);
      const accepted = await eventually(() => e.replies.find((r) => r.status === 'accepted'), 'an accepted order', 30_000);
      const order = await eventually(() => sim.orders().find((o) => o.tag === intentTag(accepted.intentId)), 'the order at the exchange');
      assert.equal(order.tradingsymbol, 'INFY');
      assert.equal(order.placed_by, c.userId, 'placed on the account that logged in');
      assert.equal(webLogin.length, loginRequests, 'the start path made no web login request');
    } finally {
      await e.stop();
    }
  } finally {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
});
