import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createVerify, constants } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { KalshiAuth } from 'kalshi-typescript/dist/auth.js';
import { authHeaders, loadPrivateKey, signedPath, signingMessage, verifySignature, publicKeyOf } from './signing.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

test('the signed message is timestamp + METHOD + full path without the query string', () => {
  assert.equal(signedPath('https://h/trade-api/v2/portfolio/orders?limit=5&cursor=x'), '/trade-api/v2/portfolio/orders');
  assert.equal(signingMessage(1703123456789, 'get', '/trade-api/v2/portfolio/balance'), '1703123456789GET/trade-api/v2/portfolio/balance');
});

test('our headers verify as RSA-PSS/SHA-256 with a 32-byte salt, the way Kalshi checks them', () => {
  const h = authHeaders({ keyId: 'k-1', privateKey }, 'POST', 'http://x/trade-api/v2/portfolio/events/orders?a=1', 1_700_000_000_123);
  assert.equal(h['KALSHI-ACCESS-KEY'], 'k-1');
  assert.equal(h['KALSHI-ACCESS-TIMESTAMP'], '1700000000123');
  const sig = Buffer.from(h['KALSHI-ACCESS-SIGNATURE'], 'base64');
  assert.equal(sig.length, 256);
  const v = createVerify('RSA-SHA256');
  v.update('1700000000123POST/trade-api/v2/portfolio/events/orders');
  assert.equal(v.verify({ key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig), true);
  // PKCS#1 v1.5 verification must fail: it is a different scheme.
  const v15 = createVerify('RSA-SHA256');
  v15.update('1700000000123POST/trade-api/v2/portfolio/events/orders');
  assert.equal(v15.verify(publicKey, sig), false);
});

test('a signature made by the official client verifies with our checker, and a tampered one does not', () => {
  const official = new KalshiAuth('k-1', pem).generateAuthHeaders('GET', '/trade-api/v2/portfolio/balance');
  const msg = official['KALSHI-ACCESS-TIMESTAMP'] + 'GET/trade-api/v2/portfolio/balance';
  const sig = official['KALSHI-ACCESS-SIGNATURE']!;
  assert.equal(verifySignature(publicKeyOf(privateKey), msg, sig), true);
  assert.equal(verifySignature(publicKey, msg.replace('GET', 'PUT'), sig), false);
  const tampered = Buffer.from(sig, 'base64');
  tampered[10] = (tampered[10] ?? 0) ^ 0xff;
  assert.equal(verifySignature(publicKey, msg, tampered.toString('base64')), false);
});

test('the private key loads from a file or an env var and never shows up when inspected', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kalshi-key-'));
  try {
    const file = join(dir, 'key.pem');
    writeFileSync(file, pem, { mode: 0o600 });
    const fromFile = loadPrivateKey({ path: file });
    const fromEnv = loadPrivateKey({ env: 'KALSHI_PK' }, { KALSHI_PK: pem.replace(/\n/g, '\\n') });
    const body = pem.split('\n')[1]!;
    for (const key of [fromFile, fromEnv]) {
      assert.equal(key.type, 'private');
      assert.equal(inspect({ key }).includes(body), false);
      assert.equal(JSON.stringify({ key }).includes(body), false);
    }
    assert.throws(() => loadPrivateKey({ env: 'MISSING' }, {}), /MISSING is empty/);
    try {
      loadPrivateKey({ env: 'BAD' }, { BAD: 'not-a-key-SECRETSTUFF' });
      assert.fail('should throw');
    } catch (e) {
      assert.equal(inspect(e).includes('SECRETSTUFF'), false);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
