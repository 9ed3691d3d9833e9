import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { createLogger, registerSecret } from './logger.ts';

function capture() {
  const out: string[] = [];
  const log = createLogger({ level: 'debug', destination: new Writable({ write(c, _e, done) { out.push(String(c)); done(); } }) });
  return { log, text: () => out.join('') };
}

test('a registered secret is blanked by value: inside a message, an error, a field of any name, a child logger', () => {
  const pw = 'natsBrokerPw-2d7c9e4a6b1f';
  registerSecret(pw);
  const { log, text } = capture();
  log.info(`connecting as broker with ${pw}`);
  log.error({ err: new Error(`auth failed for ${pw}`) }, 'connect failed');
  log.warn({ options: { servers: 'nats://x', pass: pw }, note: `x${pw}y` }, 'retrying');
  log.child({ actor: 'broker', creds: pw }).info('child line');
  assert.ok(!text().includes(pw), text());
  assert.equal(text().match(/\[redacted\]/g)?.length, 6);
  assert.equal(text().split('\n').filter(Boolean).length, 4, 'every line still written and still JSON');
  for (const l of text().split('\n').filter(Boolean)) JSON.parse(l);
});

test('a PEM is blanked whole and line by line, as written in a JSON line', () => {
  // A key made for this run: no key material lives in the repo.
  const pem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  registerSecret(pem);
  const { log, text } = capture();
  log.info({ key: pem }, 'whole');
  log.info(`half a key: ${body[1]}`);
  for (const line of body) assert.ok(!text().includes(line), text());
});

test('values too short to be secrets are not registered (they would blank ordinary words)', () => {
  registerSecret('abc');
  registerSecret(undefined);
  const { log, text } = capture();
  log.info('abc is fine');
  assert.match(text(), /abc is fine/);
});
