import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fixture, repoRoot } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { freePort } from '../../support/wait.ts';

/**
 * `orch start` checks every fixed port it will bind before it wipes or starts anything: each
 * one in turn is taken by another process, and the start refuses at once naming the port and
 * the setting that chose it, leaving the state directory (a paper run's event store, which a
 * start would otherwise wipe) exactly as it was.
 */

/** Paper trading: no account variables and no external NATS, so `orch start` runs its own server and wipes the paper store. */
function paperEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KITE_|KALSHI_|NATS_URL$|ORCH_)/.test(k))), ...extra };
}

async function listen(port: number): Promise<Server> {
  const srv = createServer((s) => s.end('held'));
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
  return srv;
}

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath, e.name);
    out.push(e.isFile() ? `${relative(dir, path)}=${await readFile(path, 'utf8')}` : relative(dir, path));
  }
  return out.sort();
}

function orchStart(dir: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'orch.js'), 'start', '--config', join(dir, 'strategies.yaml'), ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b: Buffer) => void (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => void (output += b.toString()));
  // A start that got past the checks would run until stopped: it is stopped after 60 s and fails the test.
  const timer = setTimeout(() => child.kill('SIGTERM'), 60_000);
  return new Promise((r) => child.once('exit', (code) => { clearTimeout(timer); r({ code, output }); }));
}

/** A state directory as a paper run leaves it: the event store a fresh paper start wipes. */
async function stateDirOfAnEarlierRun(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'orch-ports-'));
  await writeFile(join(dir, 'strategies.yaml'), renderRegistry([{ id: 'ticker', module: fixture('recorder'), instruments: ['NSE:INFY'] }]));
  await mkdir(join(dir, '.orch', 'nats', 'js', 'jetstream'), { recursive: true });
  await writeFile(join(dir, '.orch', 'nats', 'js', 'jetstream', 'events.blk'), 'the earlier run\'s events');
  return dir;
}

// --strategies-metrics-port: the strategies process's /metrics, which it binds only after the broker has started.
for (const key of ['--metrics-port', '--strategies-metrics-port', '--nats-port', 'KITE_POSTBACK_PORT'] as const) {
  test(`a port taken for ${key} refuses the start at once, naming the port and ${key}; nothing is wiped or started`, async () => {
    const dir = await stateDirOfAnEarlierRun();
    const ports = { '--metrics-port': await freePort(), '--strategies-metrics-port': await freePort(), '--nats-port': await freePort(), KITE_POSTBACK_PORT: await freePort() };
    const holder = await listen(ports[key]);
    try {
      const before = await tree(join(dir, '.orch'));
      const r = await orchStart(dir, ['--metrics-port', String(ports['--metrics-port']), '--strategies-metrics-port', String(ports['--strategies-metrics-port']), '--nats-port', String(ports['--nats-port'])], paperEnv({ KITE_POSTBACK_PORT: String(ports.KITE_POSTBACK_PORT) }));
      assert.equal(r.code, 1, r.output);
      assert.ok(r.output.includes(`port ${ports[key]} on 127.0.0.1 (${key}) is already in use; nothing was started or wiped`), r.output);
      assert.doesNotMatch(r.output, /nats-server|paper trading|strategy started|EADDRINUSE/, 'nothing started before the refusal');
      assert.deepEqual(await tree(join(dir, '.orch')), before, 'the state directory is as it was: store kept, no lock, no nats pid');
      // The holder still has its port.
      assert.equal(holder.listening, true);
    } finally {
      holder.close();
    }
  });
}

test('two settings naming one port are refused before anything starts, naming both', async () => {
  const dir = await stateDirOfAnEarlierRun();
  const port = await freePort();
  const before = await tree(join(dir, '.orch'));
  const r = await orchStart(dir, ['--metrics-port', String(port), '--strategies-metrics-port', String(await freePort()), '--nats-port', String(await freePort())], paperEnv({ KITE_POSTBACK_PORT: String(port) }));
  assert.equal(r.code, 1, r.output);
  assert.ok(r.output.includes(`port ${port} is set for both --metrics-port and KITE_POSTBACK_PORT`), r.output);
  assert.deepEqual(await tree(join(dir, '.orch')), before);
});

test('the shipped nats.conf opens no port besides the client port that --nats-port sets (else the start would have to probe it too)', async () => {
  const text = (await readFile(join(repoRoot, 'nats.conf'), 'utf8')).split('\n').map((l) => l.replace(/#.*/, '')).join('\n');
  for (const key of ['http', 'https', 'http_port', 'https_port', 'monitor_port', 'cluster', 'leafnodes', 'gateway', 'websocket', 'mqtt', 'port']) {
    assert.doesNotMatch(text, new RegExp(`^\\s*${key}\\s*[:=\\s{]`, 'm'), `nats.conf sets ${key}: add its port to supervisor/start-ports.ts`);
  }
});
