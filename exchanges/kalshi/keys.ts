import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A demo API key made fresh at every start: the private half is written 0600 to a temp (or
 * given) directory for the client to load, the public half stays in the exchange. No key is
 * ever committed or kept in a fixture.
 */
export function makeDemoKey(keyDir?: string): { keyId: string; privateKeyPath: string; publicKey: KeyObject; dir: string; ownsDir: boolean } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dir = keyDir ?? mkdtempSync(join(tmpdir(), 'kalshi-sim-'));
  const keyId = randomUUID();
  const privateKeyPath = join(dir, `kalshi-sim-${keyId}.pem`);
  writeFileSync(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return { keyId, privateKeyPath, publicKey, dir, ownsDir: keyDir === undefined };
}
