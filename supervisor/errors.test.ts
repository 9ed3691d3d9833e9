import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SUPERVISOR_ERROR_POLICY, SupervisorError, type SupervisorErrorCode } from './errors.ts';
import { ConfigError } from './config.ts';
import { SecretsFileError } from './secrets.ts';
import { NatsAuthError } from './nats-auth.ts';
import { InstanceLockedError, PortInUseError } from './instance-lock.ts';
import { PortClashError } from './start-ports.ts';
import { KalshiEnvError } from './venues/kalshi.ts';
import { KillCommandError } from './commands/kill.ts';
import { NotAnswering } from './commands/ops-client.ts';
import { UsageError } from './commands/data.ts';
import { SecretInReachError } from './strategies-process.ts';

test('every supervisor error is in the one table, with the exit code orch ends with', () => {
  const cases: [SupervisorError, SupervisorErrorCode, 1 | 2][] = [
    [new ConfigError('strategies.yaml', 3, 'strategies[0].id', 'required'), 'config_invalid', 2],
    [new SecretsFileError('.env is readable by other users'), 'secrets_file', 2],
    [new NatsAuthError('bad password'), 'nats_auth', 1],
    [new InstanceLockedError('.orch/orch.lock', { pid: 42, startedAt: '2026-12-03T09:00:00Z' }), 'instance_locked', 1],
    [new PortInUseError(9464, '--metrics-port'), 'port_in_use', 1],
    [new PortClashError(4222, ['--nats-port', '--metrics-port']), 'port_clash', 1],
    [new KalshiEnvError('KALSHI_TIER must be one of ...'), 'kalshi_env', 1],
    [new KillCommandError('--reason is required'), 'kill_command', 1],
    [new NotAnswering('the supervisor is not answering'), 'not_answering', 1],
    [new UsageError('--instrument is required'), 'usage', 2],
    [new SecretInReachError('the strategies process would read /srv/orch, which holds /srv/orch/.env'), 'secret_in_reach', 2],
  ];
  for (const [e, code, exit] of cases) {
    assert.ok(e instanceof SupervisorError, code);
    assert.equal(e.code, code);
    assert.equal(e.exitCode, exit, code);
    assert.deepEqual(e.policy, SUPERVISOR_ERROR_POLICY[code]);
  }
  assert.deepEqual(new Set(cases.map(([, c]) => c)), new Set(Object.keys(SUPERVISOR_ERROR_POLICY)), 'no code without a class, no class without a code');
  // The classes keep their own names and messages (operators and tests read them).
  assert.equal(new ConfigError('f.yaml', 3, 'id', 'required').message, 'f.yaml:3: id: required');
  assert.equal(new InstanceLockedError('l', { pid: 1, startedAt: 's' }).name, 'InstanceLockedError');
});
