import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generate } from 'otplib';
import { startKiteSim } from '../../exchanges/kite/index.ts';
import { loginKite } from './login.ts';

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => resolve(p));
  });
});

async function loginAsBrowser(extraEnv: Record<string, string> = {}) {
  const port = await freePort();
  const sim = await startKiteSim({ credentials: { redirectUrl: `http://127.0.0.1:${port}/` } });
  const c = sim.credentials;
  const dir = await mkdtemp(join(tmpdir(), 'orch-login-'));
  const lines: string[] = [];
  let printed: (url: string) => void;
  const urlSeen = new Promise<string>((r) => { printed = r; });
  const env = { KITE_API_KEY: c.apiKey, KITE_API_SECRET: c.apiSecret, KITE_API_ROOT: sim.restUrl, KITE_LOGIN_ROOT: sim.restUrl, ...extraEnv };
  const done = loginKite(['kite', '--port', String(port), '--state-dir', dir], env, (l) => {
    lines.push(l);
    if (l.includes('/connect/login')) printed(l);
  });

  // A browser: the printed URL, the password step, the TOTP form, the redirect to the listener.
  const url = await urlSeen;
  assert.equal((await fetch(url)).status, 200);
  const pw = (await (await fetch(new URL('/api/login', sim.restUrl), { method: 'POST', body: new URLSearchParams({ user_id: c.userId, password: c.password }) })).json()) as { data: { request_id: string } };
  const twofa = await fetch(new URL('/api/twofa', sim.restUrl), {
    method: 'POST', redirect: 'manual',
    body: new URLSearchParams({ user_id: c.userId, request_id: pw.data.request_id, twofa_type: 'totp', twofa_value: await generate({ secret: c.totpSecret }) }),
  });
  assert.equal((await fetch(twofa.headers.get('location')!)).status, 200);
  return { sim, c, dir, lines, code: await done };
}

test('orch login kite prints the login URL, catches the redirect and stores the token 0600 in the state dir', async (t) => {
  const { sim, c, dir, lines, code } = await loginAsBrowser();
  t.after(() => sim.close());
  assert.equal(code, 0);
  const path = join(dir, 'kite-token.json');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const rec = JSON.parse(await readFile(path, 'utf8')) as { accessToken: string; userId: string };
  assert.equal(rec.userId, c.userId);
  const profile = await fetch(new URL('/user/profile', sim.restUrl), { headers: { authorization: `token ${c.apiKey}:${rec.accessToken}`, 'x-kite-version': '3' } });
  assert.equal(profile.status, 200);
  assert.ok(!lines.join('\n').includes(c.apiSecret), 'the api secret is never printed');
});

test('orch login kite with KITE_USER_ID stores nothing when the browser logged in another account', async (t) => {
  const { sim, dir, lines, code } = await loginAsBrowser({ KITE_USER_ID: 'ZZ0000' });
  t.after(() => sim.close());
  assert.equal(code, 1);
  assert.match(lines.at(-1)!, new RegExp(`logged in ${sim.credentials.userId}, but KITE_USER_ID is ZZ0000; nothing stored`));
  await assert.rejects(stat(join(dir, 'kite-token.json')), { code: 'ENOENT' });
});
