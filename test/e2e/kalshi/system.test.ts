import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.ts';
import { fixture, eventually } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { startSystem, type System } from '../../../supervisor/system.ts';
import { connectBus, subscribeParsed, requestParsed } from '../../../actors/bus.ts';
import { subjects } from '../../../actors/subjects.ts';
import { BrokerEventSchema, IntentReplySchema, IntentSchema, OrderUpdateSchema, StrategyStateReplySchema, StrategyStateRequestSchema, type BrokerEvent, type IntentReply, type OrderUpdate } from '../../../actors/messages.ts';
import { newIntentId } from '../../../actors/ids.ts';
import { Configuration, OrdersApi } from 'kalshi-typescript';
import axios from 'axios';

/**
 * The whole system with a Kalshi strategy and a Kite strategy side by side: real NATS, real
 * workers, both built-in exchanges over real sockets. The Kalshi market is kept still (no
 * background flow) so what the strategy's order meets is known.
 */
const MARKET = 'KXFED-26DEC-T4.00';
const QUIET = 'KXFED-26DEC-T4.25';
let server: NatsServerHandle;
let sys: System;
let nc: NatsConnection;
const kalshiUpdates: OrderUpdate[] = [];
const kiteUpdates: OrderUpdate[] = [];
const quietUpdates: OrderUpdate[] = [];
const brokerEvents: BrokerEvent[] = [];
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });

before(async () => {
  server = await startNatsServer();
  const dir = await mkdtemp(join(tmpdir(), 'orch-kalshi-e2e-'));
  const cfg = join(dir, 'strategies.yaml');
  await writeFile(cfg, renderRegistry([
    {
      id: 'kbuyer', module: fixture('recorder'), venue: 'kalshi', instruments: [MARKET],
      params: { placeOnTick: 1, side: 'BUY', qty: 100, through: 200 },
      risk: { maxOrderQty: 500, maxOrderValue: 100000, maxPosition: 1000, maxOpenOrders: 3, priceBandBps: 1000 },
    },
    {
      id: 'kquiet', module: fixture('recorder'), venue: 'kalshi', instruments: [QUIET],
      risk: { maxOrderQty: 500, maxOrderValue: 100000, maxPosition: 1000, maxOpenOrders: 10, priceBandBps: 9000, ordersPerMinute: 100 },
    },
    {
      id: 'kitebuyer', module: fixture('recorder'), instruments: ['NSE:INFY'],
      params: { placeOnTick: 2, side: 'BUY', qty: 2, through: 500 },
    },
  ]));
  nc = await connectBus({ servers: server.url, name: 'observer' });
  subscribeParsed(nc, subjects.orderUpdatesOf('kbuyer'), OrderUpdateSchema, (u) => { kalshiUpdates.push(u); });
  subscribeParsed(nc, subjects.orderUpdatesOf('kquiet'), OrderUpdateSchema, (u) => { quietUpdates.push(u); });
  subscribeParsed(nc, subjects.orderUpdatesOf('kitebuyer'), OrderUpdateSchema, (u) => { kiteUpdates.push(u); });
  subscribeParsed(nc, subjects.brokerEvents(), BrokerEventSchema, (e) => { brokerEvents.push(e); });
  await nc.flush();
  sys = await startSystem({
    configFile: cfg, log, natsUrl: server.url, stateDir: dir, metricsPort: 0, simTickIntervalMs: 100, logLevel: 'silent',
    kalshiFlowMs: false, hotReload: false,
  });
});

after(async () => {
  await nc?.close();
  await sys?.stop();
  await server.cleanup();
});

/** An intent as kquiet would send it: a YES bid well below the market, so it rests. */
const restingBid = (intentId = newIntentId()) => ({
  action: 'place' as const, intentId, strategyId: 'kquiet', ts: Date.now(), venue: 'kalshi' as const, symbol: QUIET,
  side: 'BUY' as const, qty: 100, orderType: 'LIMIT' as const, limitPrice: 1000,
});
const send = (intent: ReturnType<typeof restingBid>, timeoutMs = 5_000): Promise<IntentReply> =>
  requestParsed(nc, subjects.intent('kquiet'), IntentSchema, intent, IntentReplySchema, timeoutMs);
const quietAtExchange = (intentId: string) => sys.kalshiSim!.orders().filter((o) => o.clientOrderId === intentId);

test('a Kalshi strategy\'s intent is one order carrying the intent id, its fill comes back once, and a Kite strategy trades beside it', async () => {
  // The market is still: a market maker adding to the best bid makes the tick the strategy acts on.
  const engine = sys.kalshiSim!.engine;
  const filled = await eventually(() => {
    const hit = kalshiUpdates.find((u) => u.state === 'filled');
    if (!hit && kalshiUpdates.length === 0) engine.place({ ticker: MARKET, side: 'bid', price: engine.top(MARKET).bid![0], count: 100, timeInForce: 'good_till_canceled' }, 'mm');
    return hit;
  }, 'the Kalshi order to fill', 15_000);
  assert.equal(filled.venue, 'kalshi');
  assert.equal(filled.symbol, MARKET);
  assert.equal(filled.filledQty, 100);
  const atExchange = sys.kalshiSim!.orders().filter((o) => o.ticker === MARKET);
  assert.equal(atExchange.length, 1);
  assert.equal(atExchange[0]!.clientOrderId, filled.intentId);
  assert.equal(atExchange[0]!.status, 'executed');
  // The socket's fill and the create response both reported it; the strategy hears it once.
  const exchangeFill = sys.kalshiSim!.fills().find((f) => f.orderId === atExchange[0]!.orderId)!;
  const fills = kalshiUpdates.filter((u) => u.fill);
  assert.equal(fills.length, 1);
  assert.deepEqual({ qty: fills[0]!.fill!.qty, price: fills[0]!.fill!.price }, { qty: exchangeFill.count, price: exchangeFill.price });
  assert.equal(sys.broker.position('kbuyer', MARKET), 100);

  const kiteFilled = await eventually(() => kiteUpdates.find((u) => u.state === 'filled'), 'the Kite order to fill', 15_000);
  assert.equal(kiteFilled.venue, 'kite');
  assert.equal(sys.sim!.orders().length, 1);
  assert.equal(sys.broker.position('kitebuyer', 'NSE:INFY'), 2);
});

test('a dropped Kalshi socket is announced, intents are refused until it is back, then accepted again', async () => {
  await eventually(() => sys.broker.lastPrice('kalshi', QUIET), 'a Kalshi price for the quiet market');
  const from = brokerEvents.length;
  sys.kalshiSim!.faults.dropSockets();
  const down = await eventually(() => brokerEvents.slice(from).find((e) => e.type === 'BrokerDisconnected'), 'BrokerDisconnected');
  assert.equal(down.type === 'BrokerDisconnected' && down.venue, 'kalshi');
  const intent = restingBid();
  const refused = await send(intent);
  assert.equal(refused.status, 'denied');
  assert.equal(refused.status === 'denied' && refused.rule, 'broker_disconnected');
  assert.equal(quietAtExchange(intent.intentId).length, 0);
  // Kite is untouched by a Kalshi outage.
  assert.ok(!brokerEvents.slice(from).some((e) => e.type === 'BrokerDisconnected' && e.venue === 'kite'));

  const up = await eventually(() => brokerEvents.slice(from).find((e) => e.type === 'BrokerReconnected'), 'BrokerReconnected', 15_000);
  assert.equal(up.type === 'BrokerReconnected' && up.venue, 'kalshi');
  const again = await send(restingBid());
  assert.equal(again.status, 'accepted');
  assert.equal(quietAtExchange(again.intentId).length, 1);
});

test('a 429 storm on Kalshi writes delays the order but never duplicates it, even when the intent is resent', async () => {
  await eventually(() => sys.broker.connection && sys.broker.lastPrice('kalshi', QUIET), 'kalshi live');
  sys.kalshiSim!.faults.rateLimitStorm(1_500);
  const intent = restingBid();
  const [first, resent] = await Promise.all([send(intent, 20_000), send(intent, 20_000)]);
  assert.equal(first.status, 'accepted');
  assert.equal(resent.status, 'accepted');
  assert.ok((first.status === 'accepted' && first.duplicate) || (resent.status === 'accepted' && resent.duplicate), 'the resend is answered as a duplicate');
  const orders = quietAtExchange(intent.intentId);
  assert.equal(orders.length, 1);
  assert.equal(orders[0]!.status, 'resting');
  const metricsText = await (await fetch(sys.metricsUrl!)).text();
  assert.match(metricsText, /orch_venue_429_total\{venue="kalshi"\} [1-9]/);
});

test('a Kalshi strategy\'s order cancelled by another API client of the account is cancelled for the strategy while the system runs, from the user_orders push', async () => {
  await eventually(() => sys.broker.connection && sys.broker.lastPrice('kalshi', QUIET), 'kalshi live');
  const intent = restingBid();
  const placed = await send(intent);
  assert.equal(placed.status, 'accepted', JSON.stringify(placed));
  const orderId = placed.status === 'accepted' ? placed.venueOrderId! : '';
  const sim = sys.kalshiSim!;
  const other = new OrdersApi(new Configuration({ apiKey: sim.keyId, privateKeyPath: sim.privateKeyPath, basePath: sim.restUrl }), undefined, axios.create() as unknown as ConstructorParameters<typeof OrdersApi>[2]);
  await other.cancelOrderV2(orderId);
  // Only the push says who cancelled it: the REST poll's view of the same cancel says nothing of it.
  const told = await eventually(() => quietUpdates.find((u) => u.intentId === intent.intentId && u.state === 'cancelled'), 'the strategy to hear of the cancel', 10_000);
  assert.match(told.message ?? '', /not by orch/);
  const state = await requestParsed(nc, subjects.strategyState('kquiet'), StrategyStateRequestSchema, {}, StrategyStateReplySchema, 5_000);
  assert.ok(!state.openOrders.some((o) => o.intentId === intent.intentId), 'the strategy\'s view of its open orders no longer holds it');
});
