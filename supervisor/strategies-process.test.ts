import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { readAllowList, SecretInReachError } from './strategies-process.ts';

const log = pino({ level: 'silent' });

async function project(t: { after(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'orch-allow-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'strategies'));
  await writeFile(join(dir, 'strategies', 'a.ts'), '');
  return dir;
}

test('the strategies process may read the registry file but not its folder when that folder holds the state directory, and never a secret', async (t) => {
  const dir = await project(t);
  const registry = join(dir, 'strategies.yaml');
  await writeFile(registry, 'strategies:\n  - id: a\n    module: ./strategies/a.ts\n');
  const reads = await readAllowList({ configFile: registry, secrets: [join(dir, '.orch'), join(dir, '.env')], extra: [], log });
  assert.ok(!reads.includes(dir), 'not the folder that holds .orch and .env');
  for (const secret of ['.orch/kite-token.json', '.orch/nats/passwords.json', '.env']) {
    assert.ok(!reads.some((r) => join(dir, secret).startsWith(r.replace(/\*$/, ''))), `${secret} is out of reach`);
  }
  // Node 20.20 denies a folder beside an allowed file whose name extends it: both as one wildcard.
  assert.ok(reads.includes(join(dir, 'strategies*')), JSON.stringify(reads));
});

test('a strategy module in a folder that holds a secret refuses the start, naming both', async (t) => {
  const dir = await project(t);
  await mkdir(join(dir, 'config'));
  const registry = join(dir, 'config', 'strategies.yaml');
  await writeFile(registry, 'strategies:\n  - id: near-key\n    module: ../keys/s.ts\n');
  await mkdir(join(dir, 'keys'));
  const key = join(dir, 'keys', 'kalshi.pem');
  await assert.rejects(readAllowList({ configFile: registry, secrets: [key], extra: [], log }), (e: Error) => e instanceof SecretInReachError && e.message.includes(join(dir, 'keys')) && e.message.includes(key) && e.message.includes('near-key'));
});
