import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.ts';
import { eventually } from '../../support/specs.ts';
import { startSystem, type System } from '../../../supervisor/system.ts';
import { metrics } from '../../../actors/metrics.ts';
import type { ReloadResult } from '../../../supervisor/ops-schemas.ts';
import { workspace, strategySource, registry, capturingLogger, type Workspace, type Entry } from '../../support/reload-workspace.ts';

let server: NatsServerHandle;
let ws: Workspace;
let sys: System;
let marker: string;
const { log, lines } = capturingLogger();

const alpha = (n: number): Entry => ({ id: 'alpha', module: 'a', instruments: ['NSE:INFY'], params: { n } });
const beta: Entry = { id: 'beta', module: 'b', instruments: ['NSE:TCS'], params: { n: 1 } };

async function starts(): Promise<string[]> {
  return (await readFile(marker, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}
const reloads = async (result: ReloadResult['result']) => (await metrics.configReloadTotal.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

/** Waits for the watch to pick up an edit and finish the reload it caused. */
async function nextReload(edit: () => Promise<void>): Promise<ReloadResult> {
  const before = sys.reloader.lastResult();
  await edit();
  return eventually(() => {
    const r = sys.reloader.lastResult();
    return r && r !== before ? r : undefined;
  }, 'the watch to apply the edit', 20_000);
}

async function health(id: string) {
  const v = (await sys.supervisor.view()).find((a) => a.id === id);
  assert.ok(v, `${id} is supervised`);
  return v;
}

before(async () => {
  server = await startNatsServer();
  ws = await workspace();
  marker = join(ws.dir, 'starts.log');
  await writeFile(ws.module('a'), strategySource('v1', marker));
  await writeFile(ws.module('b'), strategySource('v1', marker));
  await writeFile(ws.config, registry([alpha(1), beta]));
  sys = await startSystem({ configFile: ws.config, log, natsUrl: server.url, stateDir: ws.dir, metricsPort: false, simTickIntervalMs: 50, logLevel: 'silent' });
  await eventually(async () => (await health('beta')).health!.ticks > 3, 'beta to see ticks');
});

after(async () => {
  await sys?.stop();
  await server?.cleanup();
  await ws?.cleanup();
});

/** Beta must be the same worker throughout: its tick count only grows, and no tick is missing. */
async function assertBetaUntouched(ticksBefore: number): Promise<number> {
  const b = await eventually(async () => {
    const v = await health('beta');
    return v.health && v.health.ticks > ticksBefore + 3 ? v : undefined;
  }, 'beta to keep ticking');
  assert.equal(b.status, 'running');
  assert.equal(b.restarts, 0);
  assert.equal(b.health!.tickGaps, 0, 'beta lost no tick across the reload');
  assert.deepEqual((await starts()).filter((l) => l.startsWith('beta ')), ['beta v1 1'], 'beta was never restarted');
  return b.health!.ticks;
}

test('an edited entry restarts only that strategy, in a fresh worker, while its neighbour keeps every tick', async () => {
  const betaTicks = (await health('beta')).health!.ticks;
  const r = await nextReload(() => writeFile(ws.config, registry([alpha(2), beta])));
  assert.equal(r.result, 'applied');
  assert.deepEqual(r.restarted, ['alpha']);
  assert.deepEqual(r.unchanged, ['beta']);
  await eventually(async () => (await starts()).includes('alpha v1 2'), 'alpha to start with n=2');
  await assertBetaUntouched(betaTicks);
});

test('edited strategy code restarts the strategies that use it, and the new code runs', async () => {
  const betaTicks = (await health('beta')).health!.ticks;
  const r = await nextReload(() => writeFile(ws.module('a'), strategySource('v2', marker)));
  assert.equal(r.result, 'applied');
  assert.deepEqual(r.restarted, ['alpha']);
  await eventually(async () => (await starts()).includes('alpha v2 2'), 'alpha to run the v2 code');
  await assertBetaUntouched(betaTicks);
});

test('an invalid registry changes nothing, is logged with file, line and field and counted; the next good edit applies', async () => {
  const startsBefore = (await starts()).length;
  const invalidBefore = await reloads('invalid');
  const bad = await nextReload(() => writeFile(ws.config, registry([{ ...alpha(2), venue: 'nyse' }, beta])));
  assert.equal(bad.result, 'invalid');
  assert.equal(bad.error?.field, 'strategies[0].venue');
  assert.equal(bad.error?.line, 4, 'the venue line of the first entry');
  assert.equal(await reloads('invalid'), invalidBefore + 1);
  const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.field === 'strategies[0].venue');
  assert.ok(logged, 'the refusal is logged');
  assert.equal(logged.file, ws.config);
  assert.equal(logged.line, 4);
  assert.equal(logged.level, 50);

  // Params the strategy's own schema refuses are just as invalid.
  const badParams = await nextReload(() => writeFile(ws.config, registry([{ ...alpha(2), params: { n: 'two' } }, beta])));
  assert.equal(badParams.result, 'invalid');
  assert.equal(badParams.error?.field, 'strategies[0].params.n');

  assert.equal((await starts()).length, startsBefore, 'no strategy was restarted');
  assert.equal((await health('alpha')).status, 'running');
  const good = await nextReload(() => writeFile(ws.config, registry([alpha(3), beta])));
  assert.equal(good.result, 'applied');
  await eventually(async () => (await starts()).includes('alpha v2 3'), 'the good edit to apply');
});

test('a first strategy on a venue this process did not start is refused with its line: that needs a restart', async () => {
  const startsBefore = (await starts()).length;
  const kalshi: Entry = { id: 'fed', module: 'a', venue: 'kalshi', instruments: ['KXFED-26DEC-T4.00'], params: { n: 1 } };
  const bad = await nextReload(() => writeFile(ws.config, registry([alpha(3), beta, kalshi])));
  assert.equal(bad.result, 'invalid');
  assert.equal(bad.error?.field, 'strategies[2].venue');
  assert.equal(bad.error?.line, 20, 'the venue line of the third entry');
  assert.match(bad.error?.message ?? '', /fed: venue kalshi is not running in this process \(running: kite\); adding the first kalshi strategy needs a restart/);
  assert.equal((await starts()).length, startsBefore, 'nothing started or restarted');
  assert.equal((await sys.supervisor.view()).some((a) => a.id === 'fed'), false);
  assert.equal((await nextReload(() => writeFile(ws.config, registry([alpha(3), beta])))).result, 'unchanged');
});

test('a strategy on an instrument the venue does not list is refused with its file and line; the running ones keep running', async () => {
  const startsBefore = (await starts()).length;
  const invalidBefore = await reloads('invalid');
  const betaTicks = (await health('beta')).health!.ticks;
  const gamma: Entry = { id: 'gamma', module: 'a', instruments: ['NSE:NOSUCH'], params: { n: 1 } };
  const bad = await nextReload(() => writeFile(ws.config, registry([alpha(3), beta, gamma])));
  assert.equal(bad.result, 'invalid');
  assert.equal(bad.error?.field, 'strategies[2].instruments[0]');
  assert.equal(bad.error?.file, ws.config);
  assert.equal(bad.error?.line, 21, 'the instruments line of the third entry');
  assert.match(bad.error?.message ?? '', /:21: strategies\[2\]\.instruments\[0\]: gamma: NSE:NOSUCH is not in the kite instrument list/);
  assert.equal(await reloads('invalid'), invalidBefore + 1);
  assert.equal((await starts()).length, startsBefore, 'nothing started or restarted');
  assert.equal((await sys.supervisor.view()).some((a) => a.id === 'gamma'), false);
  assert.equal((await health('alpha')).status, 'running');
  await assertBetaUntouched(betaTicks);
  assert.equal((await nextReload(() => writeFile(ws.config, registry([alpha(3), beta])))).result, 'unchanged');
});

test('a module that fails to load changes nothing, and fixing it applies', async () => {
  const betaTicks = (await health('beta')).health!.ticks;
  const alphaTicks = (await health('alpha')).health!.ticks;
  const startsBefore = (await starts()).length;
  const bad = await nextReload(() => writeFile(ws.module('a'), `${strategySource('v3', marker)}\nthrow new Error('half-written module');\n`));
  assert.equal(bad.result, 'invalid');
  assert.equal(bad.error?.field, 'strategies[0].module');
  assert.match(bad.error?.message ?? '', /half-written module/);
  // Alpha keeps running the code it had.
  await eventually(async () => ((await health('alpha')).health?.ticks ?? 0) > alphaTicks + 3, 'alpha to keep ticking');
  assert.equal((await starts()).length, startsBefore);
  const fixed = await nextReload(() => writeFile(ws.module('a'), strategySource('v3', marker)));
  assert.equal(fixed.result, 'applied');
  await eventually(async () => (await starts()).includes('alpha v3 3'), 'alpha to run the fixed code');
  await assertBetaUntouched(betaTicks);
});

test('a new entry starts; a removed one stops with its open orders cancelled first, or left by policy', async () => {
  const added = await nextReload(() => writeFile(ws.config, registry([
    alpha(3), beta,
    { id: 'gamma', module: 'b', instruments: ['NSE:RELIANCE'], params: { n: 7, restBelow: 500 }, onRemove: 'cancel-orders' },
    { id: 'delta', module: 'b', instruments: ['NSE:SBIN'], params: { n: 8, restBelow: 500 }, onRemove: 'leave-orders' },
  ])));
  assert.equal(added.result, 'applied');
  assert.deepEqual(added.started.sort(), ['delta', 'gamma']);
  // Each rests one buy below the market on the instrument the broker subscribed for it.
  const resting = await eventually(() => {
    const open = sys.sim!.orders().filter((o) => o.status === 'OPEN');
    return open.length === 2 ? open : undefined;
  }, 'the new strategies to rest their orders', 15_000);
  const gammaOrder = resting.find((o) => o.tradingsymbol === 'RELIANCE')!;
  const deltaOrder = resting.find((o) => o.tradingsymbol === 'SBIN')!;
  assert.ok(gammaOrder && deltaOrder);

  const betaTicks = (await health('beta')).health!.ticks;
  const removed = await nextReload(() => writeFile(ws.config, registry([alpha(3), beta])));
  assert.equal(removed.result, 'applied');
  assert.deepEqual(removed.stopped.sort(), ['delta', 'gamma']);
  assert.equal(removed.cancelledOrders, 1);
  await eventually(() => sys.sim!.orders().find((o) => o.order_id === gammaOrder.order_id)?.status === 'CANCELLED', 'gamma\'s order to be cancelled');
  assert.equal(sys.sim!.orders().find((o) => o.order_id === deltaOrder.order_id)?.status, 'OPEN', 'leave-orders leaves the order');
  assert.deepEqual(sys.supervisor.ids().sort(), ['alpha', 'beta']);
  await assertBetaUntouched(betaTicks);
});

test('a reload on demand with nothing changed restarts nothing', async () => {
  const before = (await starts()).length;
  const r = await sys.reloader.reload('request');
  assert.equal(r.result, 'unchanged');
  assert.deepEqual(r.unchanged.sort(), ['alpha', 'beta']);
  assert.equal((await starts()).length, before);
});
