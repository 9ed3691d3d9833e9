import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { startNatsServer } from '../../support/nats-server.ts';
import { fixture, repoRoot, eventually } from '../../support/specs.ts';
import { startKiteSim } from '../../../exchanges/kite/index.ts';
import { connectBus } from '../../../actors/bus.ts';
import { readEvents } from '../../../broker/event-log.ts';
import { renderRegistry, DEFAULT_RISK } from '../../support/registry.ts';
import { runReconcile } from '../../../supervisor/commands/reconcile.ts';

/**
 * kill -9 of the whole `orch start` (the broker's process and the strategies process) while
 * an order the exchange accepted is still unanswered. The exchange and nats-server outlive it.
 * After a restart: the order is adopted, not sent again; its fill is in the log; the books agree;
 * and the strategy trades again.
 */
test('after kill -9 of the whole process, the restart adopts the unanswered order, sends nothing twice, keeps the fill, and trades on', async () => {
  const server = await startNatsServer();
  const sim = await startKiteSim({ tickIntervalMs: 100, seed: 5, logger: pino({ level: 'silent' }) });
  const dir = await mkdtemp(join(tmpdir(), 'orch-crash-'));
  const config = join(dir, 'strategies.yaml');
  await writeFile(config, renderRegistry([{
    id: 'buyer', module: fixture('recorder'), instruments: ['NSE:INFY'],
    params: { placeOnTick: 3, side: 'BUY', qty: 1, through: 500 }, risk: { ...DEFAULT_RISK, maxOpenOrders: 5 },
  }]));
  const c = sim.credentials;
  const env = {
    ...process.env,
    KITE_API_KEY: c.apiKey, KITE_API_SECRET: c.apiSecret, KITE_USER_ID: c.userId, KITE_PASSWORD: c.password, KITE_TOTP_SECRET: c.totpSecret, KITE_AUTO_LOGIN: 'totp',
    KITE_API_ROOT: sim.restUrl, KITE_LOGIN_ROOT: sim.restUrl, KITE_WS_URL: sim.wsUrl,
  };
  const start = () => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'orch.js'), 'start', '--config', config, '--nats', server.url, '--metrics-port', '0', '--strategies-metrics-port', '0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
    child.stderr!.resume();
    return { child, lines };
  };
  const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));
  let run = start();
  const nc = await connectBus({ servers: server.url, name: 'crash-observer' });
  try {
    // The first order's answer is withheld: the process dies while the write is unanswered.
    sim.faults.acceptThenTimeout(1);
    await eventually(() => sim.orders().length === 1, 'the first order to reach the exchange', 60_000);
    // Both processes at once, as a power cut or the OOM killer of the whole unit would: the broker and its strategies process.
    const strategiesPid = Number(/"strategiesPid":(\d+)/.exec(run.lines.join('\n'))?.[1]);
    assert.ok(strategiesPid > 0, 'the strategies process is named');
    process.kill(strategiesPid, 'SIGKILL');
    run.child.kill('SIGKILL');
    await exited(run.child);
    const [first] = sim.orders();
    assert.ok(first?.tag);

    run = start();
    // The dead broker's lease must lapse before the new one trades.
    await eventually(() => run.lines.some((l) => l.includes('orchestrator running')), 'the restarted system', 60_000);
    // The strategy's new incarnation places its own order on its third tick.
    await eventually(() => sim.orders().length >= 2, 'the restarted strategy to trade', 30_000);
    await eventually(() => sim.orders().every((o) => o.status === 'COMPLETE'), 'both orders to fill', 30_000);
    await new Promise((r) => setTimeout(r, 1_500)); // a few polls, so a duplicate would have time to show

    const orders = sim.orders();
    assert.equal(orders.length, 2, 'nothing was sent twice');
    assert.equal(new Set(orders.map((o) => o.tag)).size, 2);
    // The unanswered order was adopted: its fill is in the log under its intent.
    const events: { kind: string; intentId?: string }[] = [];
    for await (const e of readEvents(nc)) events.push(e.event as { kind: string; intentId?: string });
    const firstWrite = events.find((e) => e.kind === 'venue_write');
    assert.ok(firstWrite?.intentId);
    await eventually(async () => {
      events.length = 0;
      for await (const e of readEvents(nc)) events.push(e.event as { kind: string; intentId?: string });
      return events.filter((e) => e.kind === 'fill').length === 2;
    }, 'both fills in the log', 15_000);
    assert.ok(events.some((e) => e.kind === 'fill' && e.intentId === firstWrite.intentId), 'the fill made while unanswered is logged');
    // The books agree with the exchange.
    const out: string[] = [];
    const code = await runReconcile(['--json', '--nats', server.url], { ...process.env }, { out: (s) => out.push(s), err: (s) => out.push(s) });
    assert.equal(code, 0, out.join(''));
  } finally {
    run.child.kill('SIGTERM');
    await exited(run.child);
    await nc.close();
    await sim.close();
    await server.cleanup();
  }
});
