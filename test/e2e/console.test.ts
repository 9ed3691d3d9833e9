import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../support/specs.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { duplicateKeys } from '../support/duplicate-keys.ts';

const orch = join(repoRoot, 'bin', 'orch.js');

test('the duplicate-key scan finds a key written twice, where JSON.parse keeps the last silently', () => {
  assert.deepEqual(duplicateKeys('{"level":40,"actor":"kill","a":{"b":1,"b":2},"level":2}'), ['a.b', 'level']);
  assert.deepEqual(duplicateKeys('{"level":40,"list":[{"x":1},{"x":2}],"s":"\\"level\\":"}'), []);
});

/**
 * A real paper run of the example registry (both built-in exchanges, every example strategy in
 * its worker, in the strategies process beside the broker's), with an operator's kill in the middle: every line it writes is one JSON object
 * with no key twice (a kill change once went out at level 2, its `level` field overwriting
 * pino's), the metrics listen where ORCH_METRICS_HOST says, a summary line comes every interval,
 * and the shutdown report gives each strategy its orders, fills and P&L.
 */
test('orch start in JSON mode: no log line has a key twice, the metrics host is read, and it reports per strategy at shutdown', async () => {
  const server = await startNatsServer();
  const dir = await mkdtemp(join(tmpdir(), 'orch-console-'));
  const child = spawn(process.execPath, [
    orch, 'start', '--config', join(repoRoot, 'config', 'strategies.yaml'), '--nats', server.url,
    '--metrics-port', '0', '--strategies-metrics-port', '0', '--log-format', 'json', '--summary-interval', '1000',
  ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ORCH_METRICS_HOST: '127.0.0.2' } });
  const lines: string[] = [];
  let stderr = '';
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const waitFor = async (what: string, pred: (o: Record<string, unknown>) => boolean, ms = 60_000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && child.exitCode === null) {
      const hit = parsed().find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`no ${what} in the log:\n${lines.slice(-10).join('\n')}\n${stderr}`);
  };
  try {
    const running = await waitFor('start', (o) => String(o.msg).startsWith('orchestrator running'));
    // The metrics server listens on the configured address (a container's 0.0.0.0, here another loopback address).
    assert.match(String(running.metrics), /^http:\/\/127\.0\.0\.2:\d+\/metrics$/);
    const res = await fetch(String(running.metrics));
    assert.equal(res.status, 200);
    assert.match(await res.text(), /orch_kill_level/);
    // The strategies run in a process of their own, with its own /metrics on the same address.
    assert.notEqual(running.strategiesPid, running.pid);
    assert.match(String(running.strategiesMetrics), /^http:\/\/127\.0\.0\.2:\d+\/metrics$/);
    assert.match(await (await fetch(String(running.strategiesMetrics))).text(), /orch_actor_up\{actor="momentum-infy"\} 1/);
    // The broker's summary counts the strategies that process reports running.
    await waitFor('summary line with every strategy up', (o) => o.actor === 'summary' && String(o.msg).startsWith('3/3 strategies up'));

    const kill = spawnSync(process.execPath, [orch, 'kill', '1', '--strategy', 'kalshi-quoter', '--reason', 'console test', '--nats', server.url], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    assert.equal(kill.status, 0, kill.stderr);
    const changed = await waitFor('kill change', (o) => o.msg === 'kill level changed');
    assert.equal(changed.level, 40, 'logged as a warning, whatever the kill level');
    assert.equal(changed.killLevel, 1);
    assert.equal(changed.actor, 'kill');
    const summary = await waitFor('summary line with the halt', (o) => typeof o.msg === 'string' && /strategies up \| orders \d+ \(filled \d+\) \| P&L .*\| kill 0 ACTIVE \(halted: kalshi-quoter\)/.test(o.msg));
    assert.equal(summary.actor, 'summary');

    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    assert.equal(code, 0, stderr);
    for (const id of ['momentum-infy', 'meanrev-reliance', 'kalshi-quoter']) {
      const report = parsed().find((o) => typeof o.msg === 'string' && o.msg.startsWith(`${id} (`));
      assert.ok(report, `a shutdown line for ${id}`);
      assert.match(String(report.msg), /orders \d+, filled \d+, open \d+, realized -?[₹$][\d,.]+, P&L -?[₹$][\d,.]+/);
      assert.equal(typeof (report.summary as { pnl: unknown }).pnl, 'number');
    }
    assert.ok(lines.length > 20, 'a real run writes more than a handful of lines');
    const dupes = lines.flatMap((l) => duplicateKeys(l).map((k) => `${k} in ${l}`));
    assert.deepEqual(dupes, [], 'no log line carries a key twice');
  } finally {
    child.kill('SIGKILL');
    await server.cleanup();
  }
});
