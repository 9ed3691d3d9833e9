import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duplicateKeys } from '../../support/duplicate-keys.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, repoRoot, eventually } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { alive } from '../../../supervisor/instance-lock.ts';
import { scrape } from '../../support/scrape.ts';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Paper trading: no account variables and no external NATS, so `orch start` runs its own server. */
function paperEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KITE_|KALSHI_|NATS_URL$)/.test(k)));
}

function orchStart(dir: string, config: string, ports: { nats: number; metrics: number; strategiesMetrics: number }) {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'orch.js'), 'start', '--config', config, '--nats-port', String(ports.nats), '--metrics-port', String(ports.metrics), '--strategies-metrics-port', String(ports.strategiesMetrics)], { cwd: dir, env: paperEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => void (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => void (out += b.toString()));
  return { child, output: () => out };
}

const exited = (p: ChildProcess) => new Promise<number | null>((r) => (p.exitCode !== null || p.signalCode !== null ? r(p.exitCode) : p.once('exit', (code) => r(code))));

/**
 * A second `orch start` on the same state directory (same ports) refuses at once, naming the
 * running process and since when, and touches nothing of it: its nats-server keeps running,
 * its event log is not wiped, its metrics are still served, its lock is still its own.
 */
test('a second orch start on the same state directory refuses, names the running one, and leaves it untouched', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-single-'));
  const config = join(dir, 'strategies.yaml');
  await writeFile(config, renderRegistry([{ id: 'ticker', module: fixture('recorder'), instruments: ['NSE:INFY'] }]));
  const ports = { nats: await freePort(), metrics: await freePort(), strategiesMetrics: await freePort() };
  const first = orchStart(dir, config, ports);
  try {
    await eventually(() => first.output().includes('orchestrator running'), 'the first orch to run', 60_000);
    const metricsUrl = `http://127.0.0.1:${ports.metrics}/metrics`;
    const natsPid = Number((await readFile(join(dir, '.orch', 'nats', 'nats.pid'), 'utf8')).trim());
    assert.ok(alive(natsPid));
    const strategiesPid = Number(/"strategiesPid":(\d+)/.exec(first.output())?.[1]);
    assert.ok(alive(strategiesPid), 'its strategies process runs');
    // The log's size is read every 5 s.
    const bytesBefore = await eventually(async () => Number((await scrape(metricsUrl)).find((s) => s.name === 'orch_event_log_bytes')?.value) || undefined, 'the first run to have written its log', 15_000);
    const storeBefore = await stat(join(dir, '.orch', 'nats', 'js'));

    const second = orchStart(dir, config, ports);
    const code = await Promise.race([exited(second.child), new Promise<'still running'>((r) => setTimeout(() => r('still running'), 20_000))]);
    if (code === 'still running') second.child.kill('SIGKILL');
    assert.equal(code, 1, `the second start exits with an error:\n${second.output()}`);
    assert.match(second.output(), new RegExp(`pid ${first.child.pid}, running since \\d{4}-\\d\\d-\\d\\dT`), 'it names the holder and since when');
    assert.deepEqual(second.output().split('\n').filter((l) => l.startsWith('{')).flatMap((l) => duplicateKeys(l)), [], 'no line of the refusal carries a key twice (the holder\'s pid is not the line\'s pid)');

    // Nothing of the first changed.
    assert.equal(first.child.exitCode, null, 'the first orch still runs');
    assert.ok(alive(natsPid), "the first orch's nats-server still runs");
    assert.ok(alive(strategiesPid), "the first orch's strategies process still runs");
    assert.equal(Number((await readFile(join(dir, '.orch', 'nats', 'nats.pid'), 'utf8')).trim()), natsPid);
    assert.equal((await stat(join(dir, '.orch', 'nats', 'js'))).ino, storeBefore.ino, 'the event store was not wiped');
    const bytesAfter = Number((await scrape(metricsUrl)).find((s) => s.name === 'orch_event_log_bytes')?.value);
    assert.ok(bytesAfter >= bytesBefore, 'the event log kept what it had');
    assert.equal(JSON.parse(await readFile(join(dir, '.orch', 'orch.lock'), 'utf8')).pid, first.child.pid, 'the lock is still the first one\'s');
  } finally {
    first.child.kill('SIGTERM');
    await exited(first.child);
  }
  await assert.rejects(stat(join(dir, '.orch', 'orch.lock')), 'a clean stop removes the lock');
});
