import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { Svcm, type ServiceInfo, type ServiceIdentity, type ServiceStats } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.ts';
import { fixture, eventually } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { workspace, capturingLogger, type Workspace } from '../../support/reload-workspace.ts';
import { startSystem, type System } from '../../../supervisor/system.ts';
import { connectBus } from '../../../actors/bus.ts';
import { subjects, SERVICE_BROKER, SERVICE_SUPERVISOR } from '../../../actors/subjects.ts';
import { BrokerStatusSchema, ReloadResultSchema, StrategiesReplySchema, SupervisorStatusSchema } from '../../../supervisor/ops-schemas.ts';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
let server: NatsServerHandle;
let ws: Workspace;
let sys: System;
let nc: NatsConnection;
const { log } = capturingLogger();

before(async () => {
  server = await startNatsServer();
  ws = await workspace();
  await writeFile(ws.config, renderRegistry([
    { id: 'buyer', module: fixture('recorder'), instruments: ['NSE:INFY'], params: { placeOnTick: 2, side: 'BUY', qty: 2, through: 500 } },
    { id: 'watcher', module: fixture('recorder'), instruments: ['NSE:TCS'], risk: { maxOrderQty: 5, maxOrderValue: 100_000_000, maxPosition: 10, maxOpenOrders: 3 } },
  ]));
  sys = await startSystem({ configFile: ws.config, log, natsUrl: server.url, stateDir: ws.dir, metricsPort: 0, simTickIntervalMs: 50, logLevel: 'silent', hotReload: false });
  // The test's connection plays the operator's NATS CLI.
  nc = await connectBus({ servers: server.url, name: 'nats-cli' });
});

after(async () => {
  await nc?.close();
  await sys?.stop();
  await server?.cleanup();
  await ws?.cleanup();
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function request<T>(subject: string, parse: { parse(x: unknown): T }): Promise<T> {
  const m = await nc.request(subject, '', { timeout: 10_000 });
  return parse.parse(m.json());
}

test('nats micro ls finds the broker and the supervisor through $SRV.PING', async () => {
  const client = new Svcm(nc as never).client();
  const found = await collect<ServiceIdentity>(await client.ping());
  assert.deepEqual(found.map((s) => s.name).sort(), [SERVICE_BROKER, SERVICE_SUPERVISOR]);
  for (const s of found) assert.match(s.version, /^\d+\.\d+\.\d+/);
});

test('nats micro info lists each service\'s endpoints and their subjects', async () => {
  // The raw request, as the NATS CLI sends it.
  const raw = (await nc.request(`$SRV.INFO.${SERVICE_SUPERVISOR}`, '', { timeout: 5_000 })).json<ServiceInfo>();
  assert.equal(raw.type, 'io.nats.micro.v1.info_response');
  assert.deepEqual(raw.endpoints.map((e) => [e.name, e.subject]).sort(), [
    ['reload', subjects.serviceEndpoint('supervisor', 'reload')],
    ['status', subjects.serviceEndpoint('supervisor', 'status')],
    ['strategies', subjects.serviceEndpoint('supervisor', 'strategies')],
  ]);
  const [broker] = await collect<ServiceInfo>(await new Svcm(nc as never).client().info(SERVICE_BROKER));
  assert.deepEqual(broker?.endpoints.map((e) => e.subject), [subjects.serviceEndpoint('broker', 'status')]);
});

test('nats req on the broker\'s status returns venues, limiter headroom, kill level, positions, P&L and open orders', async () => {
  // The buyer's marketable order fills within a few ticks.
  const st = await eventually(async () => {
    const s = await request(subjects.serviceEndpoint('broker', 'status'), BrokerStatusSchema);
    return s.positions.some((p) => p.strategyId === 'buyer' && p.qty === 2) ? s : undefined;
  }, 'the buyer\'s fill to show in the broker status', 15_000);
  assert.deepEqual(st.venues, [{ venue: 'kite', connected: true }]);
  const orders = st.limiter.find((b) => b.category === 'kite.orders');
  assert.ok(orders && orders.capacity > 0 && orders.tokens <= orders.capacity, 'limiter headroom for order writes');
  assert.equal(st.kill.global.level, 0);
  const pos = st.positions.find((p) => p.strategyId === 'buyer')!;
  assert.equal(pos.symbol, 'NSE:INFY');
  assert.equal(typeof pos.lastPrice, 'number');
  const pnl = st.pnl.find((p) => p.strategyId === 'buyer')!;
  assert.ok(Number.isInteger(pnl.total));
  assert.equal(pnl.total, pnl.realized + pnl.unrealized);
  assert.deepEqual(st.openOrders, []);
});

test('nats req on the supervisor\'s endpoints returns actors with health, the registry, and reloads on demand', async () => {
  const st = await eventually(async () => {
    const s = await request(subjects.serviceEndpoint('supervisor', 'status'), SupervisorStatusSchema);
    return s.actors.every((a) => a.status === 'running' && a.health) ? s : undefined;
  }, 'both actors running with health');
  assert.deepEqual(st.actors.map((a) => a.id).sort(), ['buyer', 'watcher']);
  assert.equal(st.configFile, ws.config);
  const list = await request(subjects.serviceEndpoint('supervisor', 'strategies'), StrategiesReplySchema);
  assert.deepEqual(list.strategies.map((s) => [s.id, s.status, s.instruments.join(',')]), [['buyer', 'running', 'NSE:INFY'], ['watcher', 'running', 'NSE:TCS']]);
  const reload = await request(subjects.serviceEndpoint('supervisor', 'reload'), ReloadResultSchema);
  assert.equal(reload.result, 'unchanged');
  assert.equal(reload.trigger, 'request');

  const [stats] = await collect<ServiceStats>(await new Svcm(nc as never).client().stats(SERVICE_SUPERVISOR));
  const reloadStats = stats?.endpoints?.find((e) => e.name === 'reload');
  assert.ok(reloadStats && reloadStats.num_requests >= 1, 'nats micro stats counts the requests');
});

test('metrics from worker threads reach the one /metrics, and the live scrape passes promtool check metrics', async () => {
  // A malformed tick is dead-lettered inside the watcher's worker, on that thread's registry.
  nc.publish(subjects.marketData('kite', 'NSE:TCS'), 'not json');
  await nc.flush();
  const body = await eventually(async () => {
    const text = await (await fetch(sys.metricsUrl!)).text();
    return /orch_dead_letters_total\{subject="orch\.md\.kite\.NSE:TCS"\} 1\n/.test(text)
      && /orch_event_loop_lag_seconds\{actor="buyer"\}/.test(text)
      && /orch_event_loop_lag_seconds\{actor="watcher"\}/.test(text)
      && /orch_event_loop_lag_seconds\{actor="main"\}/.test(text) ? text : undefined;
  }, 'worker metrics in the scrape', 15_000);
  // The main thread's own metrics are still there, once each.
  assert.match(body, /^orch_ws_connected\{venue="kite"\} 1$/m);
  assert.equal(body.match(/^# TYPE orch_ticks_total /gm)?.length, 1);
  const res = spawnSync(PROMTOOL, ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 10_000 });
  assert.equal(res.error, undefined, `could not run ${PROMTOOL}: ${res.error?.message}`);
  const out = `${res.stdout}${res.stderr}`.trim();
  assert.equal(res.status, 0, `promtool check metrics failed:\n${out}`);
  assert.equal(out, '', `promtool complained:\n${out}`);
});
