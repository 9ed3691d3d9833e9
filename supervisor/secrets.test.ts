import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDotEnv, SecretsFileError } from './secrets.ts';

async function envFile(text: string, mode: number): Promise<string> {
  const f = join(await mkdtemp(join(tmpdir(), 'orch-env-')), '.env');
  await writeFile(f, text);
  await chmod(f, mode);
  return f;
}

test('a .env readable by others is refused, with the fix and without its content', async () => {
  const f = await envFile('KITE_API_SECRET=s3cr3t-value\n', 0o644);
  assert.throws(() => loadDotEnv(f, {}), (e: unknown) => {
    assert.ok(e instanceof SecretsFileError);
    assert.match(e.message, /chmod 600/);
    assert.doesNotMatch(e.message, /s3cr3t/);
    return true;
  });
});

test('a 0600 .env fills only what the environment does not already set', async () => {
  const f = await envFile('# comment\nKITE_API_KEY=abc\nexport KITE_USER_ID="ZZ1234"\nKITE_PASSWORD=from-file\n', 0o600);
  const env: NodeJS.ProcessEnv = { KITE_PASSWORD: 'from-env' };
  const loaded = loadDotEnv(f, env);
  assert.deepEqual(loaded.sort(), ['KITE_API_KEY', 'KITE_USER_ID']);
  assert.equal(env.KITE_USER_ID, 'ZZ1234');
  assert.equal(env.KITE_PASSWORD, 'from-env');
});

test('a malformed line is reported by number, never by content', async () => {
  const f = await envFile('GOOD=1\nthis is secret garbage\n', 0o600);
  assert.throws(() => loadDotEnv(f, {}), (e: unknown) => e instanceof SecretsFileError && /:2:/.test(e.message) && !/garbage/.test(e.message));
});
