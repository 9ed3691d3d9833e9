import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsServerHandle } from '../../support/nats-server.ts';
import { spec, fixture, eventually } from '../../support/specs.ts';
import { startBusAnsweringState, stopBus } from '../../support/broker-state.ts';
import { renderRegistry } from '../../support/registry.ts';
import { Supervisor } from '../../../supervisor/supervisor.ts';
import { probeInWorker } from '../../../supervisor/reload.ts';
import { startSystem } from '../../../supervisor/system.ts';
import { ConfigError } from '../../../supervisor/config.ts';
import { SystemClock } from '../../../actors/clock.ts';
import { publishJson } from '../../../actors/bus.ts';
import { subjects } from '../../../actors/subjects.ts';
import { TickSchema } from '../../../actors/messages.ts';

let server: NatsServerHandle;
let nc: NatsConnection;
const log = pino({ level: 'silent' });
/** Fast health checks, so a hang is found within a second or two. */
const quick = { intervalSeconds: 0.2, timeoutSeconds: 0.3, maxMissed: 2, startSeconds: 60 };

before(async () => {
  ({ server, nc } = await startBusAnsweringState());
});
after(() => stopBus({ server, nc }));

test('a strategy stuck in while(true){} misses its health checks, is terminated and counted as a crash; the restart policy applies', async () => {
  const crashes: string[] = [];
  const gaveUp: string[] = [];
  const sup = new Supervisor({ host: { natsUrl: server.url, logLevel: 'silent' }, clock: new SystemClock(), log, onCrash: (id) => crashes.push(id), onGiveUp: (id) => gaveUp.push(id) });
  const spinner = spec('spinner', { module: fixture('spinner'), instruments: ['NSE:WIPRO'], params: { spinOnTick: 1 }, health: quick, restart: { maxRestarts: 1, withinSeconds: 60 } });
  await sup.startAll([spinner]);
  let seq = 0;
  try {
    // Each life spins on its first tick: found, terminated, restarted once, then left down.
    await eventually(async () => {
      publishJson(nc, subjects.marketData('kite', 'NSE:WIPRO'), TickSchema, { type: 'tick', venue: 'kite', symbol: 'NSE:WIPRO', seq: ++seq, ts: 1, recvTs: 1, last: 50_000 });
      await nc.flush();
      await new Promise((r) => setTimeout(r, 100));
      return sup.status('spinner') === 'down';
    }, 'the spinning strategy to be terminated twice and left down', 60_000);
    const v = (await sup.view())[0]!;
    assert.equal(v.restarts, 1);
    assert.match(v.lastError ?? '', /unresponsive: 2 health checks in a row not answered within 0.3 s; worker terminated/);
    assert.deepEqual(crashes, ['spinner', 'spinner']);
    assert.deepEqual(gaveUp, ['spinner']);
  } finally {
    await sup.stopAll();
  }
});

test('a module that loops while loading does not hang the start: past its start deadline the worker is terminated, as a crash', async () => {
  const sup = new Supervisor({ host: { natsUrl: server.url, logLevel: 'silent' }, clock: new SystemClock(), log });
  const looper = spec('looper', { module: fixture('import-loop'), params: {}, health: { ...quick, startSeconds: 1.5 }, restart: { maxRestarts: 0, withinSeconds: 60 } });
  try {
    await sup.startAll([looper]); // returns: it no longer waits forever
    assert.equal(sup.status('looper'), 'down');
    assert.match((await sup.view())[0]!.lastError ?? '', /did not start within 1500 ms/);
  } finally {
    await sup.stopAll();
  }
});

async function registryWith(module: string, resources = { maxOldGenerationSizeMb: 64 }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'orch-probe-'));
  const file = join(dir, 'strategies.yaml');
  await writeFile(file, renderRegistry([{ id: 'bad', module, instruments: ['NSE:INFY'], resources }]));
  return file;
}

test('the reload probe refuses a module that loops while loading by name, at its deadline', async () => {
  const file = await registryWith(fixture('import-loop'));
  const r = await probeInWorker({ timeoutMs: 10_000 })(file);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.error.field, 'strategies[0].module');
  assert.equal(typeof r.error.line, 'number');
  assert.match(r.error.message, /import-loop\.ts: loading took longer than 10000 ms/);
});

test('the reload probe refuses a module that allocates without end while loading, at the registry\'s memory limit', async () => {
  const file = await registryWith(fixture('import-hog'), { maxOldGenerationSizeMb: 32 });
  const r = await probeInWorker({ timeoutMs: 60_000 })(file);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.error.field, 'strategies[0].module');
  assert.match(r.error.message, /import-hog\.ts: loading needs more than the registry's memory limit \(96 MB heap/);
});

test('orch start refuses a registry whose module loops while loading, naming it, instead of hanging', async () => {
  const file = await registryWith(fixture('import-loop'));
  await assert.rejects(
    startSystem({ configFile: file, log, natsUrl: server.url, stateDir: join(file, '..'), metricsPort: false, logLevel: 'silent', hotReload: false, moduleLoadTimeoutMs: 10_000 }),
    (e: unknown) => e instanceof ConfigError && e.field === 'strategies[0].module' && /loading took longer than 10000 ms/.test(e.message),
  );
});
