import { eventually } from '../../test/support/wait.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { generateSecret, verify } from 'otplib';
import { TestClock } from '../../actors/clock.ts';
import { createLogger } from '../../actors/logger.ts';
import { VenueError } from '../venue-errors.ts';
import { KiteSessionManager, nextKiteExpiry, nextMarketOpen, refreshAt, type KiteCredentials, type LoginEvent, type WebLoginCredentials } from './session.ts';
import { fail, json, ok, startHttp } from './test-http.ts';
import { FakeLimiter } from '../../test/support/fake-limiter.ts';

const ist = (s: string) => Date.parse(`${s}+05:30`);

test('a token dies at the next 06:00 IST', () => {
  assert.equal(nextKiteExpiry(ist('2026-11-23T09:30:00')), ist('2026-11-24T06:00:00'));
  assert.equal(nextKiteExpiry(ist('2026-11-23T05:59:59')), ist('2026-11-23T06:00:00'));
  assert.equal(nextKiteExpiry(ist('2026-11-23T06:00:00')), ist('2026-11-24T06:00:00'));
  assert.equal(nextKiteExpiry(ist('2026-11-23T23:59:00')), ist('2026-11-24T06:00:00'));
  assert.equal(nextKiteExpiry(ist('2026-11-24T00:01:00')), ist('2026-11-24T06:00:00'), 'after IST midnight, UTC is still the previous day');
});

test('renewal is just after the 06:00 IST expiry, never before it (a token minted before 06:00 dies at 06:00 too)', () => {
  const exp = ist('2026-11-24T06:00:00');
  assert.equal(refreshAt(ist('2026-11-23T09:30:00'), exp), exp + 1000);
  assert.equal(refreshAt(ist('2026-11-24T05:50:00'), exp), exp + 1000);
  assert.equal(refreshAt(ist('2026-11-24T07:00:00'), exp), ist('2026-11-24T07:00:00'), 'already past: at once');
});

/** The app's key and secret and the account's web login, made up per run (no secret is a literal). */
type TestCreds = KiteCredentials & WebLoginCredentials;
function creds(): TestCreds {
  return { apiKey: 'apikey1', apiSecret: `api-${randomBytes(12).toString('hex')}`, userId: 'AB1234', password: `pw-${randomBytes(9).toString('hex')}`, totpSecret: generateSecret() };
}
const webLogin = (c: TestCreds) => ({ credentials: { apiKey: c.apiKey, apiSecret: c.apiSecret }, webLogin: { userId: c.userId, password: c.password, totpSecret: c.totpSecret } });

async function fakeKite(c: TestCreds, clock: TestClock) {
  let tokens = 0;
  const steps: string[] = [];
  const server = await startHttp(async (r, res) => {
    steps.push(`${r.method} ${r.url.pathname}`);
    const form = new URLSearchParams(r.body);
    switch (`${r.method} ${r.url.pathname}`) {
      case 'GET /connect/login':
        if (r.url.searchParams.get('api_key') !== c.apiKey || r.url.searchParams.get('v') !== '3') return json(res, 400, {});
        res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'kf_session=abc; Path=/; HttpOnly' });
        return res.end('<html>login</html>');
      case 'POST /api/login':
        if (r.headers.cookie !== 'kf_session=abc') return fail(res, 400, 'InputException', 'no session cookie');
        if (form.get('user_id') !== c.userId || form.get('password') !== c.password) return fail(res, 400, 'InputException', 'Invalid username or password.');
        return ok(res, { request_id: 'rid-1', twofa_type: 'totp' });
      case 'POST /api/twofa': {
        const good = await verify({ secret: c.totpSecret, token: form.get('twofa_value') ?? '', epoch: Math.floor(clock.now() / 1000) });
        if (form.get('request_id') !== 'rid-1' || !good.valid) return fail(res, 400, 'TwoFAException', 'Invalid TOTP.');
        res.writeHead(302, { location: 'https://app.example/cb?request_token=rt-1&action=login&status=success' });
        return res.end();
      }
      case 'POST /session/token': {
        const want = createHash('sha256').update(c.apiKey + 'rt-1' + c.apiSecret).digest('hex');
        if (form.get('checksum') !== want) return fail(res, 403, 'TokenException', 'Invalid checksum');
        await new Promise((r) => setTimeout(r, 20)); // let concurrent callers pile up
        return ok(res, { user_id: c.userId, access_token: `acc-${++tokens}`, public_token: 'pub' });
      }
      default:
        return json(res, 404, {});
    }
  });
  return { server, steps, logins: () => steps.filter((s) => s === 'POST /session/token').length };
}

function captureLogs() {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  return { logger: createLogger({ name: 't', level: 'debug', destination: dest }), text: () => lines.join('') };
}

async function setup(opts: { cachePath?: string; clockAt?: number } = {}) {
  const c = creds();
  const clock = new TestClock(opts.clockAt ?? ist('2026-11-23T08:00:00'));
  const kite = await fakeKite(c, clock);
  const logs = captureLogs();
  const mk = (cc: TestCreds = c) => new KiteSessionManager({
    ...webLogin(cc), apiRoot: kite.server.url, loginRoot: kite.server.url, clock, limiter: new FakeLimiter(), logger: logs.logger,
    ...(opts.cachePath ? { cachePath: opts.cachePath } : {}),
  });
  return { c, clock, kite, logs, mk, session: mk() };
}

test('the full login: login page, password, TOTP from our clock, request_token, session token', async () => {
  const { session, kite, clock } = await setup();
  try {
    await session.start();
    assert.deepEqual(kite.steps, ['GET /connect/login', 'POST /api/login', 'POST /api/twofa', 'POST /session/token']);
    assert.equal(await session.getAccessToken(), 'acc-1');
    assert.equal(session.currentAccessToken(), 'acc-1');
    await clock.advance(ist('2026-11-24T06:00:00') - clock.now() - 1_000);
    assert.equal(kite.logins(), 1, 'no renewal before 06:00 IST');
  } finally {
    session.stop();
    await kite.server.close();
  }
});

test('at 05:50 IST nothing logs in (a login then would mint a token dying at 06:00); one login just after 06:00 renews for the day', async () => {
  const { session, kite, clock } = await setup();
  try {
    await session.start();
    await clock.advance(ist('2026-11-24T05:50:00') - clock.now());
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(kite.logins(), 1, 'no login at 05:50');
    assert.equal(session.currentAccessToken(), 'acc-1', 'the token of the day still serves until 06:00');
    await clock.advance(ist('2026-11-24T06:00:01') - clock.now());
    await eventually(() => session.currentAccessToken() === 'acc-2', 'renewal after 06:00');
    await clock.advance(60 * 60_000);
    assert.equal(session.currentAccessToken(), 'acc-2', 'valid until the next 06:00');
    assert.equal(kite.logins(), 2, 'one login for the new day, not two');
  } finally {
    session.stop();
    await kite.server.close();
  }
});

test('many requests hitting TokenException at once share one login', async () => {
  const { session, kite, clock } = await setup();
  try {
    await session.start();
    await clock.advance(60 * 60_000);
    await Promise.all(Array.from({ length: 5 }, () => session.reauthenticate()));
    assert.equal(kite.logins(), 2);
    await session.reauthenticate(); // a straggler whose request left before the refresh
    assert.equal(kite.logins(), 2);
    assert.equal(await session.getAccessToken(), 'acc-2');
  } finally {
    session.stop();
    await kite.server.close();
  }
});

test('the token is cached 0600 and reused after a restart without logging in', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kite-session-'));
  const cachePath = join(dir, 'nested', 'token.json');
  const { mk, session, kite, c } = await setup({ cachePath });
  try {
    await session.start();
    session.stop();
    assert.equal((await stat(cachePath)).mode & 0o777, 0o600);
    const saved = JSON.parse(await readFile(cachePath, 'utf8'));
    assert.deepEqual(saved, { accessToken: 'acc-1', expiresAt: ist('2026-11-24T06:00:00'), userId: c.userId });
    const again = mk();
    await again.start();
    again.stop();
    assert.equal(kite.logins(), 1);
    assert.equal(await again.getAccessToken(), 'acc-1');
  } finally {
    await kite.server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a cache file readable by group or others is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kite-session-'));
  const cachePath = join(dir, 'token.json');
  const { session, kite, c, logs } = await setup({ cachePath });
  try {
    await writeFile(cachePath, JSON.stringify({ accessToken: 'leaked', expiresAt: ist('2026-11-24T06:00:00'), userId: c.userId }), { mode: 0o644 });
    await session.start();
    session.stop();
    assert.equal(await session.getAccessToken(), 'acc-1');
    assert.equal(kite.logins(), 1);
    assert.match(logs.text(), /readable by others/);
    assert.equal((await stat(cachePath)).mode & 0o777, 0o600, 'the fresh token replaced it with a private file');
  } finally {
    await kite.server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('an expired or foreign cached token is not reused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kite-session-'));
  const cachePath = join(dir, 'token.json');
  const { session, kite, c } = await setup({ cachePath });
  try {
    await writeFile(cachePath, JSON.stringify({ accessToken: 'old', expiresAt: ist('2026-11-23T06:00:00'), userId: c.userId }), { mode: 0o600 });
    await session.start();
    session.stop();
    assert.equal(await session.getAccessToken(), 'acc-1');
  } finally {
    await kite.server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('secrets never reach the logs or error messages, even when the login fails', async () => {
  const { mk, kite, logs, c } = await setup();
  try {
    const good = mk();
    await good.start();
    await good.reauthenticate();
    good.stop();
    const bad = mk({ ...c, password: 'wrong-password-xyz' });
    let err: unknown;
    try {
      await bad.start();
    } catch (e) {
      err = e;
    }
    bad.stop();
    assert.ok(err instanceof VenueError);
    assert.match(err.message, /password/);
    const everything = logs.text() + err.message + JSON.stringify(err.toWire());
    for (const secret of [c.apiSecret, c.password, 'wrong-password-xyz', c.totpSecret, 'acc-1', 'rt-1']) {
      assert.ok(!everything.includes(secret), `leaked ${secret}`);
    }
  } finally {
    await kite.server.close();
  }
});

test('no valid token at 09:15 IST raises the re-auth failure at once (atMarketOpen); a valid one raises nothing', async () => {
  assert.equal(nextMarketOpen(ist('2026-11-24T08:00:00')), ist('2026-11-24T09:15:00'));
  assert.equal(nextMarketOpen(ist('2026-11-24T09:15:00')), ist('2026-11-25T09:15:00'));
  const c = creds();
  const clock = new TestClock(ist('2026-11-24T08:00:00'));
  const kite = await fakeKite(c, clock);
  const events: LoginEvent[] = [];
  const session = new KiteSessionManager({
    ...webLogin(c), apiRoot: kite.server.url, loginRoot: kite.server.url, clock, limiter: new FakeLimiter(), onLogin: (e) => events.push(e),
  });
  try {
    await session.start();
    await clock.advance(ist('2026-11-24T09:16:00') - clock.now());
    assert.deepEqual(events.map((e) => e.ok), [true], 'a valid token at the open: nothing to say');
    // Kite unreachable from here on: the 06:00 renewal cannot happen.
    await kite.server.close();
    await clock.advance(ist('2026-11-25T06:00:30') - clock.now());
    await new Promise((r) => setTimeout(r, 100));
    await clock.advance(ist('2026-11-25T09:15:00') - clock.now());
    const atOpen = events.filter((e) => !e.ok && e.atMarketOpen);
    assert.equal(atOpen.length, 1, JSON.stringify(events));
    assert.equal(atOpen[0]!.ok === false && atOpen[0]!.reason, 'market_open');
  } finally {
    session.stop();
  }
});

// ---- the official flow: tokens only from the file `orch login kite` writes -------------------

async function official(o: { clockAt: number; file?: { accessToken: string; expiresAt: number; userId: string } }) {
  const c = creds();
  const clock = new TestClock(o.clockAt);
  const kite = await fakeKite(c, clock);
  const dir = await mkdtemp(join(tmpdir(), 'kite-official-'));
  const cachePath = join(dir, 'kite-token.json');
  if (o.file) await writeFile(cachePath, JSON.stringify(o.file), { mode: 0o600 });
  const events: LoginEvent[] = [];
  const logs = captureLogs();
  const session = new KiteSessionManager({
    credentials: { apiKey: c.apiKey, apiSecret: c.apiSecret, userId: c.userId }, apiRoot: kite.server.url, clock, limiter: new FakeLimiter(),
    cachePath, logger: logs.logger, onLogin: (e) => events.push(e),
  });
  return {
    c, clock, kite, cachePath, events, logs, session,
    done: async () => {
      session.stop();
      await kite.server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const madeToken = () => `tok-${randomBytes(12).toString('hex')}`;

test('official flow: the stored token is used as it is, and nothing ever logs in', async () => {
  const token = madeToken();
  const o = await official({ clockAt: ist('2026-11-23T08:00:00'), file: { accessToken: token, expiresAt: ist('2026-11-24T06:00:00'), userId: 'AB1234' } });
  try {
    await o.session.start();
    assert.equal(await o.session.getAccessToken(), token);
    await o.session.reauthenticate().catch(() => undefined);
    await o.clock.advance(ist('2026-11-24T09:20:00') - o.clock.now());
    assert.deepEqual(o.kite.steps, [], 'not one request to the login pages or /session/token');
  } finally {
    await o.done();
  }
});

test('official flow: with no valid stored token, start refuses and says to run `orch login kite`, naming no secret', async () => {
  for (const file of [undefined, { accessToken: madeToken(), expiresAt: ist('2026-11-23T06:00:00'), userId: 'AB1234' }, { accessToken: madeToken(), expiresAt: ist('2026-11-24T06:00:00'), userId: 'ZZ9999' }]) {
    const o = await official({ clockAt: ist('2026-11-23T08:00:00'), ...(file ? { file } : {}) });
    try {
      const err = await o.session.start().then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof VenueError, String(err));
      assert.equal(err.kind, 'TokenException');
      assert.match(err.message, /run `orch login kite`/);
      const everything = err.message + o.logs.text() + JSON.stringify(o.events);
      for (const secret of [o.c.apiSecret, o.c.password, o.c.totpSecret, ...(file ? [file.accessToken] : [])]) assert.ok(!everything.includes(secret), 'a secret leaked');
      assert.deepEqual(o.kite.steps, []);
      assert.ok(o.events.some((e) => !e.ok && e.awaitingLogin === true && e.reason === 'start'));
      assert.equal(o.clock.pending(), 0, 'no timer left behind (a real one would keep orch start from exiting)');
    } finally {
      await o.done();
    }
  }
});

test('official flow: after 06:00 IST the dead token is reported (awaiting login, not a failed re-auth); a token stored later is picked up without a restart', async () => {
  const first = madeToken();
  const o = await official({ clockAt: ist('2026-11-24T05:50:00'), file: { accessToken: first, expiresAt: ist('2026-11-24T06:00:00'), userId: 'AB1234' } });
  try {
    await o.session.start();
    await o.clock.advance(ist('2026-11-24T06:05:00') - o.clock.now());
    assert.equal(o.session.currentAccessToken(), undefined);
    await eventually(() => o.events.some((e) => !e.ok), 'the expiry reported'); // the file is read on real I/O
    const misses = o.events.filter((e) => !e.ok);
    assert.ok(misses.every((e) => !e.ok && e.awaitingLogin === true && !e.atMarketOpen), JSON.stringify(misses));
    assert.match(o.logs.text(), /orch login kite/);
    await assert.rejects(o.session.getAccessToken(), /orch login kite/);
    // The operator runs `orch login kite` at 07:00; the running session reads the file again.
    const second = madeToken();
    await writeFile(o.cachePath, JSON.stringify({ accessToken: second, expiresAt: ist('2026-11-25T06:00:00'), userId: 'AB1234' }), { mode: 0o600 });
    await o.clock.advance(ist('2026-11-24T07:02:00') - o.clock.now());
    await eventually(() => o.session.currentAccessToken() === second, 'the new token taken up');
    await o.clock.advance(ist('2026-11-24T09:20:00') - o.clock.now());
    assert.ok(!o.events.some((e) => !e.ok && e.atMarketOpen), 'a valid token at 09:15: no alarm');
    assert.deepEqual(o.kite.steps, []);
  } finally {
    await o.done();
  }
});

test('official flow: no new token by 09:15 IST reports the re-auth failure at market open, once', async () => {
  const o = await official({ clockAt: ist('2026-11-24T05:59:00'), file: { accessToken: madeToken(), expiresAt: ist('2026-11-24T06:00:00'), userId: 'AB1234' } });
  try {
    await o.session.start();
    await o.clock.advance(ist('2026-11-24T09:14:00') - o.clock.now());
    assert.ok(!o.events.some((e) => !e.ok && e.atMarketOpen), 'nothing at market open before 09:15');
    await o.clock.advance(ist('2026-11-24T09:16:00') - o.clock.now());
    await eventually(() => o.events.some((e) => !e.ok && e.atMarketOpen), 'the market-open failure');
    const atOpen = o.events.filter((e) => !e.ok && e.atMarketOpen);
    assert.equal(atOpen.length, 1);
    assert.match(atOpen[0]!.ok === false ? atOpen[0]!.message : '', /orch login kite/);
  } finally {
    await o.done();
  }
});

test('official flow: a token Kite refused is not taken from the file again', async () => {
  const token = madeToken();
  const o = await official({ clockAt: ist('2026-11-24T10:00:00'), file: { accessToken: token, expiresAt: ist('2026-11-25T06:00:00'), userId: 'AB1234' } });
  try {
    await o.session.start();
    await o.clock.advance(60_000);
    await assert.rejects(o.session.reauthenticate(), /orch login kite/);
    assert.equal(o.session.currentAccessToken(), undefined, 'the refused token is not served again');
    const fresh = madeToken();
    await writeFile(o.cachePath, JSON.stringify({ accessToken: fresh, expiresAt: ist('2026-11-25T06:00:00'), userId: 'AB1234' }), { mode: 0o600 });
    assert.equal(await o.session.getAccessToken(), fresh);
  } finally {
    await o.done();
  }
});
