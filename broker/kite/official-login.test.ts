import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generate } from 'otplib';
import { startKiteSim } from '../../exchanges/kite/index.ts';
import { catchRequestToken, exchangeRequestToken, kiteLoginUrl, sessionChecksum, writeTokenFile } from './official-login.ts';

test('the checksum is hex sha256 of api_key + request_token + api_secret', () => {
  assert.equal(sessionChecksum('a', 'b', 'c'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('official login against the built-in exchange: login page, redirect to the local listener, token exchanged and written 0600', async (t) => {
  const listener = await catchRequestToken(0);
  t.after(() => listener.close());
  const sim = await startKiteSim({ credentials: { redirectUrl: `http://127.0.0.1:${listener.port}/kite/callback` } });
  t.after(() => sim.close());
  const c = sim.credentials;

  const url = kiteLoginUrl(sim.restUrl, c.apiKey);
  assert.match(url, /\/connect\/login\?v=3&api_key=/);
  const page = await fetch(url);
  assert.equal(page.status, 200);
  // The browser: password step, then the TOTP form whose 302 goes to the registered redirect.
  const pw = (await (await fetch(new URL('/api/login', sim.restUrl), { method: 'POST', body: new URLSearchParams({ user_id: c.userId, password: c.password }) })).json()) as { data: { request_id: string } };
  const code = await generate({ secret: c.totpSecret });
  const twofa = await fetch(new URL('/api/twofa', sim.restUrl), {
    method: 'POST', redirect: 'manual',
    body: new URLSearchParams({ user_id: c.userId, request_id: pw.data.request_id, twofa_type: 'totp', twofa_value: code }),
  });
  assert.equal(twofa.status, 302);
  const back = await fetch(twofa.headers.get('location')!);
  assert.equal(back.status, 200);
  const requestToken = await listener.requestToken;

  const rec = await exchangeRequestToken({ apiRoot: sim.restUrl, apiKey: c.apiKey, apiSecret: c.apiSecret, requestToken, nowMs: Date.now() });
  assert.equal(rec.userId, c.userId);
  assert.ok(rec.expiresAt > Date.now());
  const dir = await mkdtemp(join(tmpdir(), 'kite-login-'));
  const path = join(dir, 'kite-token.json');
  await writeTokenFile(path, rec);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), rec);

  // The token works on the venue.
  const profile = await fetch(new URL('/user/profile', sim.restUrl), { headers: { authorization: `token ${c.apiKey}:${rec.accessToken}`, 'x-kite-version': '3' } });
  assert.equal(profile.status, 200);

  // A request_token is single use: a second exchange is refused without echoing secrets.
  await assert.rejects(
    exchangeRequestToken({ apiRoot: sim.restUrl, apiKey: c.apiKey, apiSecret: c.apiSecret, requestToken, nowMs: Date.now() }),
    (e: Error) => /session\/token refused/.test(e.message) && !e.message.includes(c.apiSecret),
  );
});
