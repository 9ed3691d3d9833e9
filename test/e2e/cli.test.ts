import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, writeFile, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../support/specs.ts';
import { renderRegistry, type RegistryEntry } from '../support/registry.ts';
import { freePort } from '../support/wait.ts';

const orch = join(repoRoot, 'bin', 'orch.js');
/** A strategy allowed one order of one unit (no price band given: the registry's default). */
const ONE_ORDER_RISK = { maxOrderQty: 1, maxOrderValue: 100_000_000, maxPosition: 1, maxOpenOrders: 1 };

test('orch sim prints one JSON line with the URLs and demo credentials any client can use', async () => {
  const keyDir = await mkdtemp(join(tmpdir(), 'orch-sim-'));
  const child = spawn(process.execPath, [orch, 'sim', '--port', '0', '--kalshi-port', '0', '--key-dir', keyDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`orch sim exited with ${code}`)));
    });
    const info = JSON.parse(line) as { kite: Record<string, string>; kalshi: Record<string, string> };
    assert.match(info.kite.rest!, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(info.kite.ws!, /^ws:\/\/127\.0\.0\.1:\d+/);
    for (const k of ['apiKey', 'apiSecret', 'userId', 'password', 'totpSecret', 'accessToken']) assert.ok(info.kite[k], k);
    assert.match(info.kalshi.rest!, /\/trade-api\/v2$/);
    assert.match(info.kalshi.ws!, /\/trade-api\/ws\/v2$/);
    assert.ok(info.kalshi.keyId);
    assert.equal((await stat(info.kalshi.privateKeyPath!)).mode & 0o777, 0o600);
    // The REST root really answers like Kite.
    const res = await fetch(`${info.kite.rest}/user/profile`, { headers: { 'X-Kite-Version': '3', Authorization: `token ${info.kite.apiKey}:${info.kite.accessToken}` } });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'success');
  } finally {
    child.kill('SIGTERM');
  }
});

test('an unknown command exits 2 with the usage', () => {
  const r = spawnSync(process.execPath, [orch, 'frobnicate'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
});

test('orch start refuses a bad registry before starting anything, naming file, line and field', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-bad-'));
  const f = join(dir, 'strategies.yaml');
  await writeFile(f, 'strategies:\n  - id: x\n    venue: nyse\n');
  const r = spawnSync(process.execPath, [orch, 'start', '--config', f, '--nats', 'nats://127.0.0.1:1'], { encoding: 'utf8', cwd: dir, timeout: 30_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`${f}:\\d+: strategies\\[0\\]`));
});

test('orch start refuses an instrument the venue does not list, naming file and line, before any strategy starts', async () => {
  const { startNatsServer } = await import('../support/nats-server.ts');
  const { fixture } = await import('../support/specs.ts');
  const server = await startNatsServer();
  try {
    const dir = await mkdtemp(join(tmpdir(), 'orch-unknown-'));
    const f = join(dir, 'strategies.yaml');
    await writeFile(f, renderRegistry([{ id: 'first', module: fixture('recorder'), instruments: ['NSE:INFY', 'NSE:NOSUCH'], risk: ONE_ORDER_RISK }]));
    const line = (await readFile(f, 'utf8')).split('\n').findIndex((l) => l.includes('NSE:NOSUCH')) + 1;
    const r = spawnSync(process.execPath, [orch, 'start', '--config', f, '--nats', server.url, '--metrics-port', '0', '--strategies-metrics-port', '0'], { encoding: 'utf8', cwd: dir, timeout: 120_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${f}:${line}: strategies\\[0\\]\\.instruments\\[1\\]: first: NSE:NOSUCH is not in the kite instrument list`));
    assert.doesNotMatch(r.stdout, /strategy started/, 'no strategy started');
  } finally {
    await server.cleanup();
  }
});

test('orch start refuses a Kalshi market ticker Kalshi does not list (404), naming file and line, before any strategy starts', async () => {
  const { startNatsServer } = await import('../support/nats-server.ts');
  const { fixture } = await import('../support/specs.ts');
  const server = await startNatsServer();
  try {
    const dir = await mkdtemp(join(tmpdir(), 'orch-unknown-kalshi-'));
    const f = join(dir, 'strategies.yaml');
    const kalshiRisk = { maxOrderQty: 100, maxOrderValue: 100_000, maxPosition: 100, maxOpenOrders: 1 };
    await writeFile(f, renderRegistry([
      { id: 'kiteok', module: fixture('recorder'), instruments: ['NSE:INFY'], risk: ONE_ORDER_RISK },
      { id: 'fed', module: fixture('recorder'), venue: 'kalshi', instruments: ['KXFED-26DEC-T4.00', 'KXFED-26DEC-T9.99'], risk: kalshiRisk },
    ]));
    const line = (await readFile(f, 'utf8')).split('\n').findIndex((l) => l.includes('KXFED-26DEC-T9.99')) + 1;
    // Paper trading (no account variables): the built-in Kalshi exchange is the venue asked.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KITE_|KALSHI_|NATS_URL$)/.test(k)));
    const r = spawnSync(process.execPath, [orch, 'start', '--config', f, '--nats', server.url, '--metrics-port', '0', '--strategies-metrics-port', '0'], { encoding: 'utf8', cwd: dir, env, timeout: 120_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${f}:${line}: strategies\\[1\\]\\.instruments\\[1\\]: fed: KXFED-26DEC-T9\\.99 is not in the kalshi instrument list`));
    assert.doesNotMatch(r.stdout, /strategy started/, 'no strategy started, not even the Kite one');
  } finally {
    await server.cleanup();
  }
});

test('orch start trades until SIGTERM, then stops strategies in reverse order, drains and exits 0', async () => {
  const { startNatsServer } = await import('../support/nats-server.ts');
  const { fixture } = await import('../support/specs.ts');
  const server = await startNatsServer();
  const dir = await mkdtemp(join(tmpdir(), 'orch-start-'));
  const f = join(dir, 'strategies.yaml');
  const entry = (id: string, sym: string): RegistryEntry => ({ id, module: fixture('recorder'), instruments: [sym], risk: ONE_ORDER_RISK });
  await writeFile(f, renderRegistry([entry('first', 'NSE:INFY'), entry('second', 'NSE:TCS')]));
  const child = spawn(process.execPath, [orch, 'start', '--config', f, '--nats', server.url, '--metrics-port', '0', '--strategies-metrics-port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  try {
    const running = () => lines.some((l) => l.includes('orchestrator running'));
    const deadline = Date.now() + 30_000;
    while (!running() && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    assert.ok(running(), `orch start did not come up:\n${lines.slice(-5).join('\n')}`);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    assert.equal(code, 0);
    const stopped = lines.map((l) => JSON.parse(l) as { msg?: string; actor?: string }).filter((l) => l.msg === 'strategy stopped').map((l) => l.actor);
    assert.deepEqual(stopped, ['strategy:second', 'strategy:first'], 'reverse start order');
    assert.ok(lines.some((l) => l.includes('"msg":"stopped"')));
  } finally {
    child.kill('SIGKILL');
    await server.cleanup();
  }
});

test('Ctrl-C in a terminal (SIGINT to the whole process group) stops orch start and its own nats-server, exit 0', async () => {
  const { fixture } = await import('../support/specs.ts');
  const [natsPort, dir] = [await freePort(), await mkdtemp(join(tmpdir(), 'orch-ctrlc-'))];
  const f = join(dir, 'strategies.yaml');
  await writeFile(f, renderRegistry([{ id: 'only', module: fixture('recorder'), instruments: ['NSE:INFY'], risk: ONE_ORDER_RISK }]));
  // Its own process group, as a terminal gives a foreground job.
  const child = spawn(process.execPath, [orch, 'start', '--config', f, '--nats-port', String(natsPort), '--metrics-port', '0', '--strategies-metrics-port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  try {
    const deadline = Date.now() + 30_000;
    while (!lines.some((l) => l.includes('orchestrator running')) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    assert.ok(lines.some((l) => l.includes('orchestrator running')), lines.slice(-5).join('\n'));
    const pid = Number((await readFile(join(dir, '.orch', 'nats', 'nats.pid'), 'utf8')).trim());
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      process.kill(-child.pid!, 'SIGINT');
    });
    assert.equal(code, 0);
    assert.ok(lines.some((l) => l.includes('"msg":"stopped"')));
    assert.throws(() => process.kill(pid, 0), 'its nats-server is gone too');
  } finally {
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
  }
});
