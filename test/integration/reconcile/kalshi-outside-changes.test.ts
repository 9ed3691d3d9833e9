import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import axios from 'axios';
import { Configuration, OrdersApi } from 'kalshi-typescript';
import { connectBus, subscribeParsed } from '../../../actors/bus.ts';
import { OrderUpdateSchema, type OrderUpdate } from '../../../actors/messages.ts';
import { subjects } from '../../../actors/subjects.ts';
import { ensureEventStream } from '../../../broker/event-log.ts';
import type { ReconcileReport } from '../../../broker/events/schema.ts';
import { startKalshiSim, type KalshiSim } from '../../../exchanges/kalshi/index.ts';
import { startNatsServer } from '../../support/nats-server.ts';
import { spec, eventually } from '../../support/specs.ts';
import { startKalshiBroker } from '../../support/kalshi-broker.ts';
import { stopAfter } from '../../support/broker-actor.ts';
import { placeIntent, readLog, sendWhenPriced } from '../../support/recovery-harness.ts';

/**
 * Orders of a strategy changed at Kalshi by someone else while the broker runs: the user on the
 * website, another API client (here the official kalshi-typescript client, with the account's
 * own key). The broker hears it on the user_orders channel (docs/venues/kalshi.md, "User
 * orders"): the adapter's REST poll is set to a minute and there is no periodic reconciliation,
 * so nothing but the pushes can tell it within the seconds these tests wait.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const MARKET = 'KXFED-26DEC-T4.00';
const strategy = spec('ko', {
  venue: 'kalshi', instruments: [MARKET],
  risk: { maxOrderQty: 1_000, maxOrderValue: 1_000_000_000, maxPosition: 10_000, maxOpenOrders: 50, priceBandBps: 5_000, ordersPerMinute: 6_000 },
});
const triggers = { reconcileConfirmChecks: 2, reconcileRecheckMs: 300, reconcileGraceMs: 0, maxReauthFailures: 3, rejectWindow: 20 };
/** Within seconds, and no restart: well under the minute of the poll. */
const SECONDS = 5_000;

async function setup(t: { after: (fn: () => Promise<void>) => void }, name: string) {
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name });
  await ensureEventStream(nc);
  const sim = await startKalshiSim({ seed: 5 });
  const running = await startKalshiBroker({ sim, natsUrl: nats.url, strategies: [strategy], log, pollIntervalMs: 60_000, killSwitch: { triggers } });
  stopAfter(t, { running, sim, nc, nats });
  // What the strategy hears: its own order-update subject.
  const heard: OrderUpdate[] = [];
  subscribeParsed(nc, subjects.orderUpdatesOf('ko'), OrderUpdateSchema, (u) => { heard.push(u); });
  await nc.flush();
  return { nc, sim, running, heard, other: otherClient(sim) };
}

/** Another API client of the same account, knowing nothing of orch. */
function otherClient(sim: KalshiSim): OrdersApi {
  const cfg = new Configuration({ apiKey: sim.keyId, privateKeyPath: sim.privateKeyPath, basePath: sim.restUrl });
  return new OrdersApi(cfg, undefined, axios.create() as unknown as ConstructorParameters<typeof OrdersApi>[2]);
}

async function restingOrder(s: Awaited<ReturnType<typeof setup>>, qty = 100) {
  const best = s.sim.engine.top(MARKET).bid![0];
  const place = placeIntent('ko', { venue: 'kalshi', symbol: MARKET, side: 'BUY', qty, orderType: 'LIMIT', limitPrice: best - 300 });
  const placed = await sendWhenPriced(s.nc, place);
  assert.equal(placed.status, 'accepted', JSON.stringify(placed));
  await eventually(() => s.running.broker.book.get(place.intentId)?.state === 'open', 'the order to rest');
  return { intentId: place.intentId, orderId: placed.status === 'accepted' ? placed.venueOrderId! : '', price: best - 300 };
}

const reports = async (nc: Parameters<typeof readLog>[0]): Promise<ReconcileReport[]> =>
  (await readLog(nc)).flatMap((e) => (e.event.kind === 'reconcile' ? [e.event.report] : []));

test('a strategy\'s order cancelled by another client at Kalshi is cancelled in the ledger and told to the strategy within seconds, no restart, and raises nothing', async (t) => {
  const s = await setup(t, 'kalshi-outside-cancel');
  const o = await restingOrder(s);
  await s.other.cancelOrderV2(o.orderId);

  const told = await eventually(() => s.heard.find((u) => u.intentId === o.intentId && u.state === 'cancelled'), 'the strategy to hear of the cancel', SECONDS);
  assert.equal(told.venueOrderId, o.orderId);
  assert.match(told.message ?? '', /not by orch/);
  assert.equal(s.running.broker.book.get(o.intentId)?.state, 'cancelled');
  await s.running.events.flush();
  const states = (await readLog(s.nc)).flatMap((e) => (e.event.kind === 'order_state' && e.event.intentId === o.intentId ? [e.event.state] : []));
  assert.equal(states.at(-1), 'cancelled', 'the event log holds the cancel');
  assert.equal(s.running.killStore.current().global.level, 0, 'an order gone is no mismatch');
});

test('a strategy\'s order decreased, then re-priced, by another client takes the venue\'s shape at once; reconciliation reports order_changed and the two-check rule latches kill level 2', async (t) => {
  const s = await setup(t, 'kalshi-outside-amend');
  const o = await restingOrder(s, 300);
  await s.other.decreaseOrderV2(o.orderId, { reduce_to: '2.00' });
  await eventually(() => s.heard.find((u) => u.intentId === o.intentId && u.qty === 200), 'the strategy to hear the decrease', SECONDS);
  const newPrice = o.price - 100;
  await s.other.amendOrderV2(o.orderId, { ticker: MARKET, side: 'bid', price: `0.${String(newPrice).padStart(4, '0')}`, count: '2.50' });
  await eventually(() => {
    const rec = s.running.broker.book.get(o.intentId);
    return rec?.qty === 250 && rec.limitPrice === newPrice;
  }, 'the ledger to hold the venue\'s shape', SECONDS);
  await eventually(() => s.heard.some((u) => u.intentId === o.intentId && u.qty === 250 && u.state === 'open'), 'the strategy to hear the new shape', SECONDS);

  await eventually(() => s.running.killStore.current().global.level === 2, 'kill level 2 after the second check', 10_000);
  const seen = (await reports(s.nc)).filter((r) => r.trigger !== 'start');
  assert.equal(seen[0]?.trigger, 'venue_update', 'the push asked for the check');
  assert.ok(seen.length >= 2 && seen.every((r) => r.result === 'mismatch'), JSON.stringify(seen.map((r) => [r.trigger, r.result])));
  const changed = (r: ReconcileReport) => r.differences.filter((d) => d.kind === 'order_changed').map((d) => [d.resolution, d.field, d.local, d.atVenue]);
  // Against the shape orch asked for, on every check while the order rests so.
  assert.deepEqual(changed(seen[0]!)[0]?.slice(0, 3), ['kill_raised', 'qty', 300]);
  await eventually(async () => (await reports(s.nc)).some((r) => JSON.stringify(changed(r)) === JSON.stringify([['kill_raised', 'qty', 300, 250], ['kill_raised', 'limitPrice', o.price, newPrice]])),
    'a report naming both changes', SECONDS, 200);
});

test('an order placed and filled by another client (a position nobody in orch knows of) is found by a reconciliation the fill asks for, and latches kill level 2', async (t) => {
  const s = await setup(t, 'kalshi-outside-fill');
  await restingOrder(s);
  const ask = s.sim.engine.top(MARKET).ask![0];
  await s.other.createOrderV2({
    ticker: MARKET, side: 'bid', price: `0.${String(ask).padStart(4, '0')}`, count: '1.00', client_order_id: 'by-hand-1',
    time_in_force: 'immediate_or_cancel', self_trade_prevention_type: 'taker_at_cross',
  });
  await eventually(() => s.running.killStore.current().global.level === 2, 'kill level 2', 10_000);
  const first = (await reports(s.nc)).find((r) => r.trigger === 'venue_update');
  assert.ok(first, 'a reconciliation asked for by the push');
  assert.deepEqual(first.differences.filter((d) => d.kind === 'position').map((d) => [d.resolution, d.symbol, d.local, d.atVenue]), [['kill_raised', MARKET, 0, 100]]);
  assert.ok(first.differences.some((d) => d.kind === 'unrecognised_order'), JSON.stringify(first.differences));
});
