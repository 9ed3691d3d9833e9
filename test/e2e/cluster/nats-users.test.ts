import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('orch nats-users writes one user per role and per registry strategy, 0600, and prints no password', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'orch-nats-users-'));
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  const { stdout } = await promisify(execFile)('node', [join(repoRoot, 'bin', 'orch.js'), 'nats-users', '--config', join(repoRoot, 'config', 'strategies.yaml'), '--state-dir', stateDir], { cwd: repoRoot });
  const out = JSON.parse(stdout) as { authorization: string; passwords: string; users: string[] };
  assert.deepEqual(out.users, ['operator', 'supervisor', 'broker', 'strategy-momentum-infy', 'strategy-meanrev-reliance', 'strategy-kalshi-quoter']);
  for (const f of [out.authorization, out.passwords]) assert.equal((await stat(f)).mode & 0o777, 0o600, f);
  const passwords = JSON.parse(await readFile(out.passwords, 'utf8')) as Record<string, string>;
  const conf = await readFile(out.authorization, 'utf8');
  for (const user of out.users) {
    assert.ok(conf.includes(`user: "${user}", password: "${passwords[user]}"`), `${user} in authorization.conf`);
    assert.ok(!stdout.includes(passwords[user]!), `${user}'s password not printed`);
  }
});
