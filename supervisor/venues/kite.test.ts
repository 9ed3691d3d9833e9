import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KITE_DEFAULT_GUARD_MS, kiteLimitSettings } from './kite.ts';

test('Kite rate-limit figures come from KITE_* variables; unset ones keep the strictest documented defaults', () => {
  assert.deepEqual(kiteLimitSettings({}), { guardMs: KITE_DEFAULT_GUARD_MS });
  assert.deepEqual(
    kiteLimitSettings({ KITE_ORDERS_PER_MINUTE: '200', KITE_ORDERS_PER_DAY: '3000', KITE_MODIFY_PER_SECOND: '25', KITE_LIMIT_GUARD_MS: '20', KITE_ORDERS_PER_SECOND: '' }),
    { guardMs: 20, ordersPerMinute: 200, ordersPerDay: 3000, modifyPerSecond: 25 },
  );
  assert.throws(() => kiteLimitSettings({ KITE_ORDERS_PER_DAY: '5k' }), /KITE_ORDERS_PER_DAY: expected a positive whole number, got "5k"/);
  assert.throws(() => kiteLimitSettings({ KITE_ORDERS_PER_MINUTE: '0' }), /KITE_ORDERS_PER_MINUTE/);
  assert.throws(() => kiteLimitSettings({ KITE_LIMIT_GUARD_MS: '-1' }), /KITE_LIMIT_GUARD_MS/);
});

test('a live Kite account needs only KITE_API_KEY and KITE_API_SECRET: the official login, no automated one', async () => {
  const { kiteEnvSettings } = await import('./kite.ts');
  const s = kiteEnvSettings({ KITE_API_KEY: 'app', KITE_API_SECRET: 'made-up' });
  assert.ok(s);
  assert.equal(s.webLogin, undefined, 'no web login without the opt-in');
  assert.equal(s.userId, undefined);
  assert.equal(kiteEnvSettings({ KITE_API_KEY: 'app', KITE_API_SECRET: 'made-up', KITE_USER_ID: 'AB1234' })?.userId, 'AB1234', 'a user id checks the stored token');
  assert.equal(kiteEnvSettings({}), undefined, 'no Kite variable = paper trading');
});

test('the automated web login runs only with KITE_AUTO_LOGIN=totp; any other value, or its secrets without it, is refused by variable name', async () => {
  const { kiteEnvSettings } = await import('./kite.ts');
  const { randomBytes } = await import('node:crypto');
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const totp = randomBytes(10).toString('hex').toUpperCase();
  const app = { KITE_API_KEY: 'app', KITE_API_SECRET: `sec-${randomBytes(8).toString('hex')}` };
  const web = { KITE_USER_ID: 'AB1234', KITE_PASSWORD: password, KITE_TOTP_SECRET: totp };
  const noSecret = (err: Error) => ![password, totp, app.KITE_API_SECRET].some((v) => err.message.includes(v));

  assert.deepEqual(kiteEnvSettings({ ...app, ...web, KITE_AUTO_LOGIN: 'totp' })?.webLogin, { userId: 'AB1234', password, totpSecret: totp });
  for (const bad of ['yes', 'TOTP', 'true', '1', 'password']) {
    assert.throws(() => kiteEnvSettings({ ...app, ...web, KITE_AUTO_LOGIN: bad }), (err: Error) => /KITE_AUTO_LOGIN: expected "totp"/.test(err.message) && noSecret(err), bad);
  }
  assert.throws(() => kiteEnvSettings({ ...app, ...web }), (err: Error) => /KITE_PASSWORD, KITE_TOTP_SECRET set, but KITE_AUTO_LOGIN is not "totp"/.test(err.message) && /orch login kite/.test(err.message) && noSecret(err));
  assert.throws(() => kiteEnvSettings({ ...app, KITE_AUTO_LOGIN: 'totp', KITE_USER_ID: 'AB1234', KITE_PASSWORD: password }), (err: Error) => /not set: KITE_TOTP_SECRET/.test(err.message) && noSecret(err));
  assert.throws(() => kiteEnvSettings({ KITE_AUTO_LOGIN: 'totp', ...web }), (err: Error) => /KITE_API_KEY, KITE_API_SECRET not set/.test(err.message) && noSecret(err));
  assert.throws(() => kiteEnvSettings({ ...app, KITE_API_ROOT: 'not a url' }), /KITE_API_ROOT/);
});
