import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, repoRoot } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { freePort, eventually } from '../../support/wait.ts';
import { orch } from '../../support/run-cli.ts';
import { scrape } from '../../support/scrape.ts';

/** Paper trading: no account variables and no NATS settings of the caller's. */
function paperEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KITE_|KALSHI_|NATS_URL$|ORCH_)/.test(k)));
}

type Running = { child: ChildProcess; output: () => string; stop(): Promise<void> };

function orchStart(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'orch.js'), 'start', '--config', join(dir, 'strategies.yaml'), '--log-format', 'json', '--summary-interval', '0', ...args], { cwd: dir, env: { ...paperEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => void (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => void (out += b.toString()));
  const reap = () => void child.kill('SIGKILL');
  process.once('exit', reap);
  return {
    child,
    output: () => out,
    stop: async () => {
      process.off('exit', reap);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const late = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(late);
    },
  };
}

test('orch start --role broker and two --role strategies processes with their own groups: each host runs only its group, orch status lists every supervisor, and both groups trade through the one broker', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-roles-'));
  await writeFile(join(dir, 'strategies.yaml'), renderRegistry([
    { id: 'east', module: fixture('recorder'), instruments: ['NSE:INFY'], params: { placeOnTick: 2 }, group: 'g1' },
    { id: 'west', module: fixture('recorder'), instruments: ['NSE:INFY'], params: { placeOnTick: 2 }, group: 'g2' },
  ]));
  const natsPort = await freePort();
  const nats = `nats://127.0.0.1:${natsPort}`;
  const running: Running[] = [];
  t.after(async () => {
    for (const r of running.reverse()) await r.stop();
    await rm(dir, { recursive: true, force: true });
  });
  // The broker starts its own nats-server here and writes every user's password to .orch/nats.
  const brokerMetrics = await freePort();
  const broker = orchStart(dir, ['--role', 'broker', '--nats-port', String(natsPort), '--metrics-port', String(brokerMetrics), '--lease-ttl', '4000']);
  running.push(broker);
  await eventually(async () => /orchestrator running/.test(broker.output()), 'the broker to run', 60_000);
  assert.doesNotMatch(broker.output(), /"actor":"strategy:/, 'no strategy runs in the broker process');
  assert.match(broker.output(), /"ttlMs":4000,?[^\n]*broker lease acquired|broker lease acquired[^\n]*"ttlMs":4000/, '--lease-ttl sets the lease TTL');
  const g1Metrics = await freePort();
  const g1 = orchStart(dir, ['--role', 'strategies', '--group', 'g1', '--nats', nats, '--metrics-port', String(g1Metrics)]);
  const g2 = orchStart(dir, ['--role', 'strategies', '--group', 'g2', '--nats', nats, '--metrics-port', String(await freePort())]);
  running.push(g1, g2);
  await eventually(async () => /strategies running/.test(g1.output()) && /strategies running/.test(g2.output()), 'both strategy hosts to run', 60_000);

  const ops = ['--nats', nats, '--state-dir', join(dir, '.orch'), '--json'];
  await eventually(async () => {
    const r = await orch(['status', ...ops], { cwd: dir });
    if (r.code !== 0) return false;
    const j = JSON.parse(r.stdout) as { supervisors: { group: string; actors: string[] }[]; broker: { openOrders: { strategyId: string }[]; pnl: { strategyId: string }[] } };
    assert.deepEqual(j.supervisors.map((s) => [s.group, s.actors]), [['g1', ['east']], ['g2', ['west']]], 'each host runs its own group');
    // Each group's order reached the venue through the broker (open or already filled).
    const traded = new Set([...j.broker.openOrders.map((o) => o.strategyId), ...j.broker.pnl.map((p) => p.strategyId)]);
    return traded.has('east') && traded.has('west');
  }, 'both groups to trade through the broker', 60_000);
  const listed = JSON.parse((await orch(['strategies', ...ops], { cwd: dir })).stdout) as { strategies: { id: string; status: string }[] };
  assert.deepEqual(listed.strategies.map((st) => [st.id, st.status]).sort(), [['east', 'running'], ['west', 'running']], 'orch strategies shows every host\'s strategies');
  assert.match(g1.output(), /recorder placed/);
  // Each strategies process has its own /metrics (--metrics-port): its supervisor's series and its
  // own workers', none of the other host's strategies and none of the broker's.
  await eventually(async () => {
    const samples = await scrape(`http://127.0.0.1:${g1Metrics}/metrics`);
    const up = samples.find((x) => x.name === 'orch_actor_up' && x.labels.actor === 'east');
    assert.equal(samples.some((x) => x.labels.actor === 'west'), false, 'no series of the other host\'s strategy');
    assert.equal(samples.some((x) => x.name === 'orch_kill_level' || x.name === 'orch_event_log_bytes'), false, 'no broker series');
    return up?.value === '1' && samples.some((x) => x.name === 'orch_event_loop_lag_seconds' && x.labels.actor === 'east');
  }, 'the strategies host\'s /metrics to show its strategy running, with its worker\'s own series', 30_000);
  // And only there: the broker's /metrics serves no other process's workers (each counted once).
  const brokerSamples = await scrape(`http://127.0.0.1:${brokerMetrics}/metrics`);
  assert.ok(brokerSamples.some((x) => x.name === 'orch_kill_level'), 'the broker serves its own series');
  assert.equal(brokerSamples.some((x) => x.name === 'orch_event_loop_lag_seconds' && (x.labels.actor === 'east' || x.labels.actor === 'west')), false, 'no strategy worker series on the broker');
  assert.doesNotMatch(g1.output(), /"strategy:west"|west/, 'g1 never starts g2\'s strategy');
});
