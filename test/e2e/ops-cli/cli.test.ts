import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.ts';
import { eventually } from '../../support/specs.ts';
import { workspace, strategySource, registry, capturingLogger, type Workspace, type Entry } from '../../support/reload-workspace.ts';
import { startSystem, type System } from '../../../supervisor/system.ts';
import { orch } from '../../support/run-cli.ts';

let server: NatsServerHandle;
let bare: NatsServerHandle;
let ws: Workspace;
let sys: System;
const { log } = capturingLogger();
const alpha = (n: number): Entry => ({ id: 'alpha', module: 'a', instruments: ['NSE:INFY'], params: { n } });
const beta: Entry = { id: 'beta', module: 'a', instruments: ['NSE:TCS'], params: { n: 1 } };
const nats = () => ['--nats', server.url, '--state-dir', ws.dir];

before(async () => {
  [server, bare] = await Promise.all([startNatsServer(), startNatsServer()]);
  ws = await workspace();
  await writeFile(ws.module('a'), strategySource('v1', join(ws.dir, 'starts.log')));
  await writeFile(ws.config, registry([alpha(1), beta]));
  // No file watch: here only `orch reload` applies edits.
  sys = await startSystem({ configFile: ws.config, log, natsUrl: server.url, stateDir: ws.dir, metricsPort: false, simTickIntervalMs: 50, logLevel: 'silent', hotReload: false });
  await eventually(async () => (await sys.supervisor.view()).every((a) => (a.health?.ticks ?? 0) > 0), 'both strategies to tick');
});

after(async () => {
  await sys?.stop();
  await Promise.all([server?.cleanup(), bare?.cleanup()]);
  await ws?.cleanup();
});

test('orch status prints actors, kill level, venues, limiter headroom, P&L and orders as tables', async () => {
  const r = await orch(['status', ...nats()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^Kill level: global 0 ACTIVE$/m);
  assert.match(r.stdout, /^Venues: +kite connected$/m);
  assert.match(r.stdout, /^ID +STATE +RESTARTS +TICKS +GAPS +INTENTS +LAST ERROR$/m);
  assert.match(r.stdout, /^alpha +running +0 +\d+ +0 +0$/m);
  assert.match(r.stdout, /^beta +running +0 +\d+ +0 +0$/m);
  assert.match(r.stdout, /^kite\.orders +\d+ +\d+ +0$/m);
  assert.match(r.stdout, /^P&L per strategy/m);
  assert.match(r.stdout, /^Open orders\n\(none\)$/m);
});

test('orch status --json gives scripts both services\' status', async () => {
  const r = await orch(['status', '--json', ...nats()]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { supervisor: { actors: { id: string; status: string }[] }; broker: { kill: { global: { level: number } }; venues: unknown[]; limiter: { category: string }[] }; errors: string[] };
  assert.deepEqual(j.supervisor.actors.map((a) => [a.id, a.status]), [['alpha', 'running'], ['beta', 'running']]);
  assert.equal(j.broker.kill.global.level, 0);
  assert.deepEqual(j.broker.venues, [{ venue: 'kite', connected: true }]);
  assert.ok(j.broker.limiter.some((b) => b.category === 'kite.orders'));
  assert.deepEqual(j.errors, []);
});

test('orch strategies lists the registry as running, as a table or JSON', async () => {
  const r = await orch(['strategies', ...nats()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Registry: ${ws.config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  assert.match(r.stdout, /^alpha +kite +running +0 +NSE:INFY +cancel-orders +\S+a\.ts$/m);
  const j = JSON.parse((await orch(['strategies', '--json', ...nats()])).stdout) as { strategies: { id: string }[] };
  assert.deepEqual(j.strategies.map((s) => s.id), ['alpha', 'beta']);
});

test('orch reload applies an edit on demand, and refuses a bad file with its line and field and exit 1', async () => {
  await writeFile(ws.config, registry([alpha(2), beta]));
  const ok = await orch(['reload', ...nats()]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^reload applied\n  restarted: alpha\n  unchanged: beta\n$/);

  await writeFile(ws.config, registry([alpha(2), { ...beta, venue: 'nyse' }]));
  const bad = await orch(['reload', '--json', ...nats()]);
  assert.equal(bad.code, 1);
  const j = JSON.parse(bad.stdout) as { result: string; error: { line: number; field: string } };
  assert.equal(j.result, 'invalid');
  assert.equal(j.error.field, 'strategies[1].venue');
  assert.match(bad.stderr, new RegExp(`reload refused, nothing changed: .*strategies\\.yaml:${j.error.line}: strategies\\[1\\]\\.venue: `));
  assert.deepEqual((await sys.supervisor.view()).map((a) => a.status), ['running', 'running']);
  await writeFile(ws.config, registry([alpha(2), beta]));
  assert.equal((await orch(['reload', ...nats()])).code, 0);
});

test('with NATS unreachable each command says so and exits non-zero', async () => {
  const down = 'nats://127.0.0.1:1';
  for (const cmd of ['status', 'strategies', 'reload']) {
    const r = await orch([cmd, '--nats', down, '--state-dir', ws.dir]);
    assert.equal(r.code, 1, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /^orch: cannot reach NATS at nats:\/\/127\.0\.0\.1:1: .*is the orchestrator running\?/m, cmd);
    assert.equal(r.stdout, '');
  }
});

test('with NATS up but no orchestrator on it, each command names who is not answering and exits 1', async () => {
  const args = ['--nats', bare.url, '--state-dir', ws.dir, '--timeout', '2000'];
  const st = await orch(['status', ...args]);
  assert.equal(st.code, 1);
  assert.match(st.stderr, /the supervisor is not answering on orch\.svc\.supervisor\.status/);
  assert.match(st.stderr, /the broker is not answering on orch\.svc\.broker\.status/);
  const j = await orch(['status', '--json', ...args]);
  assert.equal(j.code, 1);
  const js = JSON.parse(j.stdout) as { supervisor: unknown; broker: unknown; errors: string[] };
  assert.equal(js.supervisor, null);
  assert.equal(js.broker, null);
  assert.equal(js.errors.length, 2);
  for (const cmd of ['strategies', 'reload']) {
    const r = await orch([cmd, ...args]);
    assert.equal(r.code, 1, cmd);
    assert.match(r.stderr, /the supervisor is not answering/, cmd);
  }
});

test('a usage error exits 2 with the usage line', async () => {
  const r = await orch(['status', '--bogus']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /usage: orch status/);
});

test('an unknown strategy id is an error for status and kill --strategy (nothing is written); a known one narrows status to it', async () => {
  const st = await orch(['status', '--strategy', 'alhpa', ...nats()]);
  assert.equal(st.code, 2);
  assert.match(st.stderr, /unknown strategy "alhpa": the running system has alpha, beta/);
  const one = await orch(['status', '--strategy', 'beta', ...nats()]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /^beta +running/m);
  assert.doesNotMatch(one.stdout, /^alpha /m);

  const k = await orch(['kill', '1', '--strategy', 'alhpa', '--reason', 'typo', ...nats()]);
  assert.equal(k.code, 2);
  assert.match(k.stderr, /unknown strategy "alhpa": not in the running registry \(alpha, beta\)/);
  assert.equal(sys.killStore.current().strategies.alhpa, undefined);
  assert.equal((await sys.killStore.read()).strategies.alhpa, undefined, 'no level latched for the typo');
});
