import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type Certs = { dir: string; caFile: string; certFile: string; keyFile: string };

/**
 * A CA made for this test run by the operators' own script (deploy/nats/make-certs.sh), and one
 * certificate for localhost / 127.0.0.1 that every local node serves: no key is ever committed.
 */
export async function makeThrowawayCa(): Promise<Certs> {
  const dir = await mkdtemp(join(tmpdir(), 'orch-ca-'));
  // nats.js checks a loopback server's certificate against "localhost".
  const name = 'localhost';
  await promisify(execFile)('sh', [join(repoRoot, 'deploy', 'nats', 'make-certs.sh'), dir, `${name},127.0.0.1`], { env: { ...process.env, CERT_DAYS: '1' } });
  return { dir, caFile: join(dir, 'ca.pem'), certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}-key.pem`) };
}
