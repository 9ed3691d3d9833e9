import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { eventually } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { startSystem, type System } from '../../../supervisor/system.ts';
import { runKill } from '../../../supervisor/commands/kill.ts';
import { log, probe } from '../../support/kill-harness.ts';

/**
 * The way `orch start` runs by default: it starts its own nats-server from generated users and
 * permissions, and the broker and every strategy connect with their own credentials. The
 * operator's `orch kill` finds its password in the generated file.
 */
let dir: string;
let sys: System;

async function cli(mode: 'kill' | 'reset', args: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const code = await runKill(mode, args, env, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orch-kill-auth-'));
  const cfg = join(dir, 'strategies.yaml');
  await writeFile(cfg, renderRegistry([probe('guarded', 'NSE:INFY', { restOnTick: 1, restCount: 1 })]));
  sys = await startSystem({ configFile: cfg, log, stateDir: dir, natsPort: -1, metricsPort: false, simTickIntervalMs: 100, logLevel: 'silent', hotReload: false });
});

after(async () => {
  await sys?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('the system starts its own server with per-role users: a strategy trades with its own credentials, an anonymous client is refused', async () => {
  assert.ok(sys.natsAuth, 'auth files were generated');
  await eventually(() => sys.broker.book.open('guarded').length === 1, "the strategy's order accepted over its own connection", 20_000);
  await assert.rejects(connect({ servers: sys.natsUrl, timeout: 2_000 }), /Authorization/i);
});

test('orch kill connects as the operator from the generated passwords file and the broker acts on it', async () => {
  const r = await cli('kill', ['3', '--reason', 'auth test', '--nats', sys.natsUrl, '--state-dir', dir, '--operator', 'ops']);
  assert.equal(r.code, 0, r.err);
  await eventually(() => sys.broker.book.open('guarded').length === 0, 'the open order cancelled');
  assert.equal(sys.killStore.current().global.by, 'operator:ops');
});

test('a reset with the wrong operator password is refused with a clear error and changes nothing', async () => {
  const r = await cli('reset', ['0', '--reason', 'let me', '--nats', sys.natsUrl, '--state-dir', dir], { ORCH_NATS_OPERATOR_PASSWORD: 'not-the-operator-password-1234' });
  assert.equal(r.code, 1);
  assert.match(r.err, /refused the operator credentials/);
  assert.doesNotMatch(r.err, /not-the-operator-password/, 'the password is never echoed');
  assert.equal(sys.killStore.current().global.level, 3);
});

test('orch kill exits non-zero naming the address when NATS cannot be reached, and refuses a malformed command', async () => {
  const down = await cli('kill', ['3', '--reason', 'x', '--nats', 'nats://127.0.0.1:1', '--state-dir', dir]);
  assert.equal(down.code, 1);
  assert.match(down.err, /cannot reach NATS at nats:\/\/127\.0\.0\.1:1/);
  const noStrategy = await cli('kill', ['1', '--reason', 'x']);
  assert.equal(noStrategy.code, 2);
  assert.match(noStrategy.err, /needs --strategy/);
  const noReason = await cli('kill', ['3']);
  assert.equal(noReason.code, 2);
  assert.match(noReason.err, /--reason is required/);
});
