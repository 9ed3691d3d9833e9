import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.ts';
import { fixture, eventually } from '../support/specs.ts';
import { renderRegistry } from '../support/registry.ts';
import { startSystem, type System } from '../../supervisor/system.ts';
import { connectBus, subscribeParsed, requestParsed } from '../../actors/bus.ts';
import { subjects } from '../../actors/subjects.ts';
import { OrderUpdateSchema, TickSchema, IntentReplySchema, IntentSchema, type OrderUpdate, type Tick } from '../../actors/messages.ts';
import { intentTag } from '../../broker/kite/tag.ts';
import type { NatsConnection } from '@nats-io/transport-node';

let server: NatsServerHandle;
let sys: System;
let nc: NatsConnection;
const updates: OrderUpdate[] = [];
let ticks = 0;
const lastTick = new Map<string, Tick>();
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });

before(async () => {
  server = await startNatsServer();
  const dir = await mkdtemp(join(tmpdir(), 'orch-e2e-'));
  const cfg = join(dir, 'strategies.yaml');
  await writeFile(cfg, renderRegistry([
    { id: 'buyer', module: fixture('recorder'), instruments: ['NSE:INFY'], tickMode: 'full', params: { placeOnTick: 2, side: 'BUY', qty: 2, through: 500 } },
    { id: 'watcher', module: fixture('recorder'), instruments: ['NSE:TCS'], tickMode: 'ltp', risk: { maxOrderQty: 5, maxOrderValue: 100_000_000, maxPosition: 10, maxOpenOrders: 3 } },
  ]));
  // Observe before anything starts: the first order fills within a few ticks.
  nc = await connectBus({ servers: server.url, name: 'observer' });
  subscribeParsed(nc, subjects.orderUpdatesOf('buyer'), OrderUpdateSchema, (u) => { updates.push(u); });
  subscribeParsed(nc, subjects.marketData('kite', 'NSE:TCS'), TickSchema, (t) => { ticks++; lastTick.set(t.symbol, t); });
  subscribeParsed(nc, subjects.marketData('kite', 'NSE:INFY'), TickSchema, (t) => { lastTick.set(t.symbol, t); });
  await nc.flush();
  sys = await startSystem({ configFile: cfg, log, natsUrl: server.url, stateDir: dir, metricsPort: 0, simTickIntervalMs: 100, logLevel: 'silent' });
});

after(async () => {
  await nc?.close();
  await sys?.stop();
  await server.cleanup();
});

test('a tick from the exchange reaches a strategy, its intent becomes one tagged order at the exchange, and the fill comes back', async () => {
  {
    const filled = await eventually(() => updates.find((u) => u.state === 'filled'), 'the order to fill', 15_000);
    assert.equal(filled.filledQty, 2);
    assert.ok(filled.fill, 'the filling update carries the fill');
    // Exactly one order at the exchange, carrying the compact tag of the intent.
    const atExchange = sys.sim!.orders();
    assert.equal(atExchange.length, 1);
    assert.equal(atExchange[0]!.tag, intentTag(filled.intentId));
    assert.equal(atExchange[0]!.status, 'COMPLETE');
    assert.equal(sys.broker.position('buyer', 'NSE:INFY'), 2);
    // Each fill is delivered once even though push and polling both report it.
    const fills = updates.filter((u) => u.fill).map((u) => u.fill!.fillId);
    assert.equal(new Set(fills).size, fills.length);
    await eventually(() => ticks > 2, 'ticks for the other strategy');
    // Each instrument streams in the mode its strategy declared: depth for `full`, price only for `ltp`.
    const infy = lastTick.get('NSE:INFY')!;
    const tcs = lastTick.get('NSE:TCS')!;
    assert.ok(infy.bid !== undefined && infy.ask !== undefined && infy.volume !== undefined, 'full mode carries depth');
    assert.ok(tcs.bid === undefined && tcs.volume === undefined, 'ltp mode carries the price only');
  }
});

test('metrics are served with the catalogue names and the health check reports the actors', async () => {
  const body = await (await fetch(sys.metricsUrl!)).text();
  for (const name of ['orch_ticks_total', 'orch_orders_submitted_total', 'orch_actor_restarts_total', 'orch_ws_connected']) {
    assert.match(body, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }
  assert.match(body, /orch_orders_submitted_total\{strategy="buyer",venue="kite"\} 1/);
  assert.match(body, /orch_ws_connected\{venue="kite"\} 1/);
  assert.match(body, /^orch_market_open\{venue="kite"\} 1$/m, 'a paper feed always trades');
  const health = await (await fetch(sys.metricsUrl!.replace('/metrics', '/healthz'))).json() as { ok: boolean; actors: { id: string }[] };
  assert.equal(health.ok, true);
  assert.deepEqual(health.actors.map((a) => a.id).sort(), ['buyer', 'watcher']);
});

test('a malformed intent gets a denial naming the problem and no order, and the broker keeps answering', async () => {
  const ordersBefore = sys.sim!.orders().length;
  const bad = await nc.request(subjects.intent('buyer'), new TextEncoder().encode('{"action":"place","qty":-1}'), { timeout: 5000 });
  const reply = IntentReplySchema.parse(bad.json());
  assert.equal(reply.status, 'denied');
  assert.equal(reply.status === 'denied' && reply.rule, 'invalid_payload');
  // An intent naming another strategy than its subject is refused too.
  const spoof = await requestParsed(nc, subjects.intent('watcher'), IntentSchema, {
    action: 'place', intentId: 'spoof1', strategyId: 'buyer', ts: 0, venue: 'kite', symbol: 'NSE:INFY', side: 'BUY', qty: 1, orderType: 'MARKET',
  }, IntentReplySchema);
  assert.equal(spoof.status === 'denied' && spoof.rule, 'strategy_mismatch');
  assert.equal(sys.sim!.orders().length, ordersBefore);
});
