import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { KALSHI_PROD_REST, KALSHI_PROD_WS, KalshiEnvError, kalshiAccountFromEnv } from './kalshi.ts';

// Made at run time: no key, real or fake, is committed.
const PEM = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PEM_BODY = PEM.split('\n')[1]!;

test('no KALSHI_KEY_ID means paper trading', () => {
  assert.equal(kalshiAccountFromEnv({}), undefined);
  assert.equal(kalshiAccountFromEnv({ KALSHI_PRIVATE_KEY: PEM }), undefined);
});

test('a key id with a key file trades production on the basic tier by default', () => {
  assert.deepEqual(kalshiAccountFromEnv({ KALSHI_KEY_ID: 'kid', KALSHI_PRIVATE_KEY_PATH: '/keys/k.pem' }), {
    keyId: 'kid', privateKey: { path: '/keys/k.pem' }, tier: 'basic', restUrl: KALSHI_PROD_REST, wsUrl: KALSHI_PROD_WS,
  });
  assert.equal(KALSHI_PROD_REST, 'https://external-api.kalshi.com/trade-api/v2');
  assert.equal(KALSHI_PROD_WS, 'wss://external-api-ws.kalshi.com/trade-api/ws/v2');
});

test('a PEM in the environment is referenced by name, never copied into the account', () => {
  const a = kalshiAccountFromEnv({ KALSHI_KEY_ID: 'kid', KALSHI_PRIVATE_KEY: PEM, KALSHI_TIER: 'premier', KALSHI_REST_URL: 'https://demo-api.kalshi.co/trade-api/v2', KALSHI_WS_URL: 'wss://demo-api.kalshi.co/trade-api/ws/v2' });
  assert.deepEqual(a, { keyId: 'kid', privateKey: { env: 'KALSHI_PRIVATE_KEY' }, tier: 'premier', restUrl: 'https://demo-api.kalshi.co/trade-api/v2', wsUrl: 'wss://demo-api.kalshi.co/trade-api/ws/v2' });
  assert.ok(!JSON.stringify(a).includes(PEM_BODY));
});

test('a key id without a key, or an unknown tier, is refused by name', () => {
  assert.throws(() => kalshiAccountFromEnv({ KALSHI_KEY_ID: 'kid' }), (e: unknown) => e instanceof KalshiEnvError && /KALSHI_PRIVATE_KEY_PATH nor KALSHI_PRIVATE_KEY/.test(e.message));
  assert.throws(() => kalshiAccountFromEnv({ KALSHI_KEY_ID: 'kid', KALSHI_PRIVATE_KEY: PEM, KALSHI_TIER: 'gold' }), (e: unknown) => {
    const m = (e as Error).message;
    return e instanceof KalshiEnvError && /KALSHI_TIER must be one of basic, advanced, premier, paragon, prime/.test(m) && !m.includes(PEM_BODY);
  });
});
