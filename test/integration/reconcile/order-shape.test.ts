import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { spec, eventually } from '../../support/specs.ts';
import { kiteBrokerOnSim, startKiteBroker } from '../../support/kite-broker.ts';
import { crashBroker } from '../../support/broker-actor.ts';
import { EventLog } from '../../../broker/event-log.ts';
import { INFY, placeIntent, readLog, sendWhenPriced } from '../../support/recovery-harness.ts';
import type { KiteSim } from '../../../exchanges/kite/index.ts';
import type { ReconcileReport } from '../../../broker/events/schema.ts';

/**
 * Reconciliation compares the price and quantity of every open order with the venue's, against
 * the built-in Kite exchange. A modify of ours that landed while its answer was lost is applied
 * (the log takes the venue's shape); an order changed outside orch is a mismatch on every check
 * while it rests so, which the kill switch's persistent-difference rule latches as level 2.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const risk = { maxOrderQty: 10, maxOrderValue: 1_000_000_000, maxPosition: 100, maxOpenOrders: 5, priceBandBps: 2_000, ordersPerMinute: 600 };
const triggers = { reconcileConfirmChecks: 2, reconcileRecheckMs: 300, reconcileGraceMs: 0, maxReauthFailures: 3, rejectWindow: 20 };

/** A modify as a person makes it at the venue (Kite web), or as a broker's request arrives: raw PUT /orders. */
async function modifyAtVenue(sim: KiteSim, orderId: string, form: Record<string, string>): Promise<void> {
  const r = await fetch(`${sim.restUrl}/orders/regular/${orderId}`, {
    method: 'PUT', body: new URLSearchParams(form),
    headers: { 'X-Kite-Version': '3', Authorization: `token ${sim.credentials.apiKey}:${sim.issueAccessToken()}` },
  });
  assert.equal(r.status, 200, await r.text());
}

const orderChanges = (r: ReconcileReport) => r.differences.filter((d) => d.kind === 'order_changed').map((d) => [d.resolution, d.field, d.local, d.atVenue]);

test('an order re-priced outside orch is reported on every check and latches kill level 2 through the persistent-difference rule; the broker takes the venue\'s price', async (t) => {
  const { nc, sim, running } = await kiteBrokerOnSim(t, {
    name: 'shape-outside', strategies: [spec('shp', { instruments: [INFY.symbol], risk })], log,
    before: (s) => s.setPrice(INFY.token, 1_500), killSwitch: { triggers },
  });
  const place = placeIntent('shp', { orderType: 'LIMIT', limitPrice: 140_000, qty: 5 });
  const placed = await sendWhenPriced(nc, place);
  assert.equal(placed.status, 'accepted', JSON.stringify(placed));
  const orderId = placed.status === 'accepted' ? placed.venueOrderId! : '';
  await eventually(() => running.broker.book.get(place.intentId)?.state === 'open', 'the order to rest');

  await modifyAtVenue(sim, orderId, { price: '1390' });
  const [report] = await running.broker.reconcileNow('periodic');
  assert.equal(report!.result, 'mismatch', JSON.stringify(report));
  assert.deepEqual(orderChanges(report!), [['kill_raised', 'limitPrice', 140_000, 139_000]]);
  await eventually(() => running.broker.book.get(place.intentId)?.limitPrice === 139_000, 'the book to hold the venue\'s price');
  // The trigger asks for a second look; still there, level 2 latches.
  await eventually(() => running.killStore.current().global.level === 2, 'kill level 2 after the second check', 10_000);
  const reports = (await readLog(nc)).flatMap((e) => (e.event.kind === 'reconcile' && e.event.report.trigger !== 'start' ? [e.event.report] : []));
  assert.ok(reports.length >= 2 && reports.every((r) => r.result === 'mismatch'), JSON.stringify(reports.map((r) => r.result)));
});

test('a modify that landed at the venue while its answer was lost (the broker died after writing it) is reported applied at the next start, and the order takes the venue\'s price and quantity; no kill', async (t) => {
  const strategies = [spec('shq', { instruments: [INFY.symbol], risk })];
  const { nc, natsUrl, sim, running } = await kiteBrokerOnSim(t, {
    name: 'shape-lost-ack', strategies, log, before: (s) => s.setPrice(INFY.token, 1_500), killSwitch: { triggers },
  });
  const place = placeIntent('shq', { orderType: 'LIMIT', limitPrice: 140_000, qty: 5 });
  const placed = await sendWhenPriced(nc, place);
  assert.equal(placed.status, 'accepted', JSON.stringify(placed));
  const orderId = placed.status === 'accepted' ? placed.venueOrderId! : '';
  await eventually(() => running.broker.book.get(place.intentId)?.state === 'open', 'the order to rest');
  await running.events.flush();
  await crashBroker(running);

  // What the dead broker did last: its write-ahead is in the log, its request reached Kite.
  const events = new EventLog(nc, log);
  await events.append({
    kind: 'venue_write', strategyId: 'shq', intentId: 'lostmodify1', ts: Date.now(), venue: 'kite', op: 'modify', venueOrderId: orderId,
    change: { targetIntentId: place.intentId, qty: 7, limitPrice: 141_000 },
  }, undefined, { sendNow: true });
  await modifyAtVenue(sim, orderId, { quantity: '7', price: '1410' });

  const next = await startKiteBroker({ sim, natsUrl, strategies, log, killSwitch: { triggers } });
  t.after(async () => {
    next.broker.fence('test over');
    await next.stop().catch(() => undefined);
  });
  const start = (await readLog(nc)).flatMap((e) => (e.event.kind === 'reconcile' && e.event.report.trigger === 'start' ? [e.event.report] : [])).at(-1);
  assert.equal(start?.result, 'resolved', JSON.stringify(start));
  assert.deepEqual(orderChanges(start!), [['applied', 'qty', 5, 7], ['applied', 'limitPrice', 140_000, 141_000]]);
  const rec = next.broker.book.get(place.intentId);
  assert.deepEqual(rec && [rec.qty, rec.limitPrice, rec.state], [7, 141_000, 'open']);
  const [again] = await next.broker.reconcileNow('periodic');
  assert.equal(again!.result, 'ok', JSON.stringify(again));
  assert.equal(next.killStore.current().global.level, 0);
});
