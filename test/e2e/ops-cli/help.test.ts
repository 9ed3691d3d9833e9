import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, COMMAND_HELP } from '../../../supervisor/cli.ts';
import { orch } from '../../support/run-cli.ts';

test('every command has its own help', () => {
  assert.deepEqual(Object.keys(COMMAND_HELP).sort(), Object.keys(COMMANDS).sort());
});

test('orch <command> --help prints that command\'s options and exits 0, for every command, without doing anything', async () => {
  // NATS at a closed port: a command that ignored --help would fail to connect (or start a system).
  const env = { NATS_URL: 'nats://127.0.0.1:1' };
  for (const cmd of Object.keys(COMMANDS)) {
    for (const flag of ['--help', '-h']) {
      const r = await orch([cmd, flag], { env, timeoutMs: 30_000 });
      assert.equal(r.code, 0, `orch ${cmd} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^orch ${cmd}\\b`), cmd);
      assert.equal(r.stderr, '', cmd);
    }
  }
  const top = await orch(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /orch <command> --help/);
});
