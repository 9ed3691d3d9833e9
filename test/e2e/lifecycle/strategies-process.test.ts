import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { eventually } from '../../support/wait.ts';
import { startOrch, type OrchLine } from '../../support/orch-start.ts';

async function workspace(prefix: string, options: Parameters<typeof renderRegistry>[1] = {}): Promise<{ dir: string; registry: string }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await mkdir(join(dir, 'config'));
  const registry = join(dir, 'config', 'strategies.yaml');
  await writeFile(registry, renderRegistry([{ id: 'only', module: fixture('recorder'), instruments: ['NSE:INFY'], params: { placeEvery: 3 } }], options));
  return { dir, registry };
}

const started = (lines: OrchLine[]) => lines.filter((l) => l.msg === 'strategies process started under the permission model').map((l) => l.strategiesPid!);

/**
 * `orch start` keeps its strategies process as the supervisor keeps a strategy: killed, it is
 * started again and its strategies trade again, while the broker (and its orders) stay up; past
 * the registry's restart intensity the run ends with exit 1 instead of running a broker with no
 * strategy, and stops its broker and NATS. The console summary counts the strategies the
 * strategies process reports running.
 */
test('orch start starts its strategies process again when it dies, and past the registry\'s restart intensity ends the run with exit 1', async (t) => {
  const { dir, registry } = await workspace('orch-keep-', { restartIntensity: { maxRestarts: 1, withinSeconds: 60 } });
  const orch = await startOrch(dir, registry, { args: ['--summary-interval', '300'] });
  t.after(async () => {
    await orch.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const placedBy = (pid: number) => orch.lines().some((l) => l.actor === 'strategy:only' && l.msg === 'recorder placed' && l.pid === pid && (l.reply as { status?: string } | undefined)?.status === 'accepted');
  await eventually(() => started(orch.lines()).length === 1 && orch.lines().some((l) => String(l.msg).startsWith('orchestrator running')), 'orch start to run', 120_000);
  const first = started(orch.lines())[0]!;
  assert.notEqual(first, orch.pid, 'the strategies run in a process of their own');
  await eventually(() => placedBy(first), 'the strategy to trade', 60_000);
  await eventually(() => orch.lines().some((l) => l.actor === 'summary' && String(l.msg).startsWith('1/1 strategies up')), 'a summary counting the strategy the other process runs', 10_000);

  process.kill(first, 'SIGKILL');
  await eventually(() => started(orch.lines()).length === 2 && orch.lines().some((l) => l.msg === 'the strategies process runs again'), 'the strategies process to be started again', 60_000);
  const second = started(orch.lines())[1]!;
  assert.notEqual(second, first);
  await eventually(() => placedBy(second), 'the strategy to trade again, from the new process', 60_000);
  assert.equal(orch.lines().filter((l) => l.msg === 'orchestrator running; Ctrl-C to stop').length, 1, 'the broker ran on, not started again');

  process.kill(second, 'SIGKILL');
  const code = await orch.exited;
  assert.equal(code, 1, 'the run ends with exit 1 past the restart intensity');
  assert.ok(orch.lines().some((l) => l.msg === 'the strategies process ended past its restart intensity: the run ends'), orch.output().slice(-2000));
  assert.equal(started(orch.lines()).length, 2, 'not started a third time');
  assert.ok(orch.lines().some((l) => l.msg === 'stopped'), 'the broker and NATS stopped in order');
  assert.ok(!existsSync(join(dir, '.orch', 'orch.lock')), 'the state directory is released');
});

/**
 * The opt-out, for a strategy that needs what the restricted process refuses (a native addon, a
 * child process): one process, said in a warning; the strategies process's port is refused with it.
 */
test('orch start --strategies-in-broker-process runs the strategies in the broker\'s own process and says so; --strategies-metrics-port with it is refused', async (t) => {
  const { dir, registry } = await workspace('orch-one-process-');
  const orch = await startOrch(dir, registry, { args: ['--strategies-in-broker-process'] });
  t.after(async () => {
    await orch.stop();
    await rm(dir, { recursive: true, force: true });
  });
  // startOrch passes --strategies-metrics-port: refused at once, nothing started.
  assert.equal(await orch.exited, 1);
  assert.match(orch.output(), /--strategies-metrics-port is for --role all with the strategies in a process of their own \(with --strategies-in-broker-process they report on --metrics-port\)/);

  const one = await startOrch(dir, registry, { args: ['--strategies-in-broker-process'], omitStrategiesPort: true });
  t.after(async () => void (await one.stop()));
  await eventually(() => one.lines().some((l) => l.actor === 'strategy:only' && l.msg === 'recorder placed'), 'the strategy to trade', 120_000);
  const placed = one.lines().find((l) => l.actor === 'strategy:only' && l.msg === 'recorder placed')!;
  assert.equal(placed.pid, one.pid, 'the strategy runs in the broker\'s process');
  assert.equal(started(one.lines()).length, 0, 'no strategies process');
  assert.ok(one.lines().some((l) => l.level === 40 && String(l.msg).startsWith('--strategies-in-broker-process: the strategies run in the broker\'s process, where a strategy can read every file')), 'the start warns what it gives up');
  assert.equal(await one.stop(), 0);
});

test('orch start refuses a strategy module whose folder holds a secret before it starts or binds anything (exit 2), naming the folder and the secret', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-reach-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, '.env'), 'ORCH_OPERATOR_TOKEN=x\n', { mode: 0o600 });
  // The module lives beside the .env: its folder is what the strategies process would read.
  await writeFile(join(dir, 'mine.ts'), `export { default } from ${JSON.stringify(fixture('recorder'))};\n`);
  await mkdir(join(dir, 'config'));
  const registry = join(dir, 'config', 'strategies.yaml');
  await writeFile(registry, renderRegistry([{ id: 'mine', module: join(dir, 'mine.ts'), instruments: ['NSE:INFY'] }]));
  const orch = await startOrch(dir, registry);
  assert.equal(await orch.exited, 2, orch.output());
  // The state directory (where the Kite token and NATS passwords go) or the .env: whichever it finds first.
  assert.match(orch.output(), new RegExp(`the strategies process would read ${dir} \\(the module folder of strategy mine\\), which holds ${dir}/\\.(orch|env): move the secret or the code elsewhere`));
  assert.ok(!existsSync(join(dir, '.orch')), 'no lock taken, no NATS started');
});
