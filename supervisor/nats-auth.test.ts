import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BROKER, NatsAuthError, OPERATOR, SUPERVISOR, envVarFor, permissionsFor, strategyRole, writeNatsAuth } from './nats-auth.ts';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'orch-auth-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const mode = async (p: string) => (await stat(p)).mode & 0o777;

test('the generated config, authorization and password files are private to the owner', async () => {
  await withDir(async (dir) => {
    const auth = await writeNatsAuth({ stateDir: dir, strategyIds: ['mr1'], env: {} });
    assert.equal(await mode(join(dir, 'nats')), 0o700);
    for (const f of [auth.configFile, auth.authFile, join(dir, 'nats', 'passwords.json')]) assert.equal(await mode(f), 0o600, f);
    const top = await readFile(auth.configFile, 'utf8');
    assert.match(top, /^include "(\.\.\/)+.*nats\.conf"$/m, 'the base config is included by a relative path');
    assert.match(top, /^include "authorization\.conf"$/m);
  });
});

test('a password from the environment is used and never written to the password file', async () => {
  await withDir(async (dir) => {
    const secret = 'Env-Supplied-Password-1234';
    const auth = await writeNatsAuth({ stateDir: dir, strategyIds: ['mean-rev'], env: { [envVarFor(strategyRole('mean-rev'))]: secret } });
    assert.equal(envVarFor(strategyRole('mean-rev')), 'ORCH_NATS_STRATEGY_MEAN_REV_PASSWORD');
    assert.deepEqual(auth.credentials(strategyRole('mean-rev')), { user: 'strategy-mean-rev', pass: secret });
    assert.doesNotMatch(await readFile(join(dir, 'nats', 'passwords.json'), 'utf8'), new RegExp(secret));
    assert.match(await readFile(auth.authFile, 'utf8'), new RegExp(`"${secret}"`));
  });
});

test('generated passwords are reused on the next start, and a new strategy gets its own without disturbing the others', async () => {
  await withDir(async (dir) => {
    const first = await writeNatsAuth({ stateDir: dir, strategyIds: ['mr1'], env: {} });
    const second = await writeNatsAuth({ stateDir: dir, strategyIds: ['mr1', 'mom1'], env: {} });
    assert.equal(second.credentials(strategyRole('mr1')).pass, first.credentials(strategyRole('mr1')).pass);
    assert.equal(second.credentials(BROKER).pass, first.credentials(BROKER).pass);
    const mom = second.credentials(strategyRole('mom1'));
    assert.equal(mom.user, 'strategy-mom1');
    assert.ok(mom.pass.length >= 32);
    assert.notEqual(mom.pass, second.credentials(strategyRole('mr1')).pass);
    assert.throws(() => first.credentials(strategyRole('mom1')), NatsAuthError, 'the old set knows nothing of mom1');
  });
});

test('an unsafe password in the environment is refused, naming the variable but not the value', async () => {
  await withDir(async (dir) => {
    const bad = 'has"quote-and-is-long-enough';
    await assert.rejects(writeNatsAuth({ stateDir: dir, strategyIds: [], env: { ORCH_NATS_OPERATOR_PASSWORD: bad } }), (e: unknown) => {
      assert.ok(e instanceof NatsAuthError);
      assert.match(e.message, /ORCH_NATS_OPERATOR_PASSWORD/);
      assert.ok(!e.message.includes(bad));
      return true;
    });
  });
});

test('a password file others can read is refused rather than trusted', async () => {
  await withDir(async (dir) => {
    await writeNatsAuth({ stateDir: dir, strategyIds: ['mr1'], env: {} });
    await chmod(join(dir, 'nats', 'passwords.json'), 0o644);
    await assert.rejects(writeNatsAuth({ stateDir: dir, strategyIds: ['mr1'], env: {} }), /readable by others/);
  });
});

test('two strategy ids that map to the same environment variable are refused', async () => {
  await withDir(async (dir) => {
    await assert.rejects(writeNatsAuth({ stateDir: dir, strategyIds: ['a-b', 'a_b'], env: {} }), /ORCH_NATS_STRATEGY_A_B_PASSWORD/);
  });
});

test('a strategy may publish only its own intents and reports (and ask for last ticks); only the broker and operator reach orch.kill', () => {
  const p = permissionsFor(strategyRole('mr1'));
  assert.deepEqual(p.publish.allow.sort(), ['orch.broker.last_ticks', 'orch.broker.state.mr1', 'orch.dlq.>', 'orch.health.mr1', 'orch.intent.mr1', 'orch.kill.ack.mr1', 'orch.metrics.mr1']);
  // Replies only under its own inbox prefix (actors/bus.ts connects with it).
  assert.deepEqual(p.subscribe.allow.sort(), ['_INBOX.strategy-mr1.>', 'orch.broker.events', 'orch.kill', 'orch.md.>', 'orch.order.mr1.>']);
  assert.ok(permissionsFor(BROKER).subscribe.allow.includes('_INBOX.broker.>') && !permissionsFor(BROKER).subscribe.allow.includes('_INBOX.>'));
  assert.ok(permissionsFor(BROKER).publish.allow.includes('orch.>'));
  assert.deepEqual(permissionsFor(OPERATOR).publish.allow, ['>']);
});

test("a strategies host's supervisor may report its actors' crashes to the broker; a strategy may not forge one", () => {
  assert.ok(permissionsFor(SUPERVISOR).publish.allow.includes('orch.supervisor.crashed.*'));
  assert.ok(!permissionsFor(strategyRole('mr1')).publish.allow.some((s) => s.startsWith('orch.supervisor')));
});

test("every user's password, generated or from the environment, is blanked in this process's log lines", async () => {
  const { Writable } = await import('node:stream');
  const { createLogger } = await import('../actors/logger.ts');
  await withDir(async (dir) => {
    const fromEnv = 'brokerPwFromEnv-7Hq2Lk9Xz4';
    const auth = await writeNatsAuth({ stateDir: dir, strategyIds: ['mr1'], env: { ORCH_NATS_BROKER_PASSWORD: fromEnv } });
    const out: string[] = [];
    const log = createLogger({ destination: new Writable({ write(c, _e, done) { out.push(String(c)); done(); } }) });
    const generated = auth.credentials(strategyRole('mr1')).pass;
    log.error(`nats connect failed: nats://broker:${auth.credentials(BROKER).pass}@127.0.0.1:4222`);
    log.info({ url: `user=strategy-mr1 pass=${generated}` }, 'strategy connect');
    const text = out.join('');
    assert.ok(!text.includes(fromEnv) && !text.includes(generated), text);
  });
});
