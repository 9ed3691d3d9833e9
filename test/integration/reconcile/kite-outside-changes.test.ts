import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { subscribeParsed } from '../../../actors/bus.ts';
import { OrderUpdateSchema, type OrderUpdate } from '../../../actors/messages.ts';
import { subjects } from '../../../actors/subjects.ts';
import { spec, eventually } from '../../support/specs.ts';
import { kiteBrokerOnSim } from '../../support/kite-broker.ts';
import { INFY, placeIntent, readLog, sendWhenPriced } from '../../support/recovery-harness.ts';
import type { KiteSim } from '../../../exchanges/kite/index.ts';

/**
 * A strategy's order changed at Kite by someone else while the broker runs (Kite web, another
 * app on the same API key). Kite sends order updates for every order of the user on the
 * ticker's WebSocket (and postbacks), so the broker hears it without a restart. The adapter's
 * REST poll is set to a minute and there is no periodic reconciliation: only the pushes can tell
 * it within the seconds these tests wait.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const risk = { maxOrderQty: 10, maxOrderValue: 1_000_000_000, maxPosition: 100, maxOpenOrders: 5, priceBandBps: 2_000, ordersPerMinute: 600 };
const SECONDS = 5_000;
const triggers = { reconcileConfirmChecks: 2, reconcileRecheckMs: 300, reconcileGraceMs: 0, maxReauthFailures: 3, rejectWindow: 20 };

/** What a person or another app does at the venue: raw REST calls with the user's token. */
async function atVenue(sim: KiteSim, method: 'PUT' | 'DELETE', orderId: string, form?: Record<string, string>): Promise<void> {
  const r = await fetch(`${sim.restUrl}/orders/regular/${orderId}`, {
    method, ...(form ? { body: new URLSearchParams(form) } : {}),
    headers: { 'X-Kite-Version': '3', Authorization: `token ${sim.credentials.apiKey}:${sim.issueAccessToken()}` },
  });
  assert.equal(r.status, 200, await r.text());
}

async function resting(t: Parameters<typeof kiteBrokerOnSim>[0], name: string) {
  const s = await kiteBrokerOnSim(t, {
    name, strategies: [spec('kx', { instruments: [INFY.symbol], risk })], log, pollIntervalMs: 60_000, killSwitch: { triggers },
    before: (sim) => sim.setPrice(INFY.token, 1_500),
  });
  const heard: OrderUpdate[] = [];
  subscribeParsed(s.nc, subjects.orderUpdatesOf('kx'), OrderUpdateSchema, (u) => { heard.push(u); });
  await s.nc.flush();
  const place = placeIntent('kx', { orderType: 'LIMIT', limitPrice: 140_000, qty: 5 });
  const placed = await sendWhenPriced(s.nc, place);
  assert.equal(placed.status, 'accepted', JSON.stringify(placed));
  // Kite sends no WebSocket order update for the placement itself (docs/venues/kite.md): with the
  // poll this slow, the ledger knows the order by its id and may still call it pending.
  await eventually(() => s.running.broker.book.get(place.intentId)?.venueOrderId, 'the order to be known by its id');
  return { ...s, heard, intentId: place.intentId, orderId: placed.status === 'accepted' ? placed.venueOrderId! : '' };
}

test('a strategy\'s order cancelled at Kite outside orch is cancelled in the ledger and told to the strategy within seconds, no restart', async (t) => {
  const s = await resting(t, 'kite-outside-cancel');
  await atVenue(s.sim, 'DELETE', s.orderId);
  const told = await eventually(() => s.heard.find((u) => u.intentId === s.intentId && u.state === 'cancelled'), 'the strategy to hear of the cancel', SECONDS);
  assert.equal(told.venueOrderId, s.orderId);
  assert.equal(s.running.broker.book.get(s.intentId)?.state, 'cancelled');
  await s.running.events.flush();
  const states = (await readLog(s.nc)).flatMap((e) => (e.event.kind === 'order_state' && e.event.intentId === s.intentId ? [e.event.state] : []));
  assert.equal(states.at(-1), 'cancelled', 'the event log holds the cancel');
});

test('a strategy\'s order re-priced at Kite outside orch takes the venue\'s price in the ledger within seconds, no restart; the update asks for a reconciliation, whose order_changed latches kill level 2 on the second check', async (t) => {
  const s = await resting(t, 'kite-outside-modify');
  await atVenue(s.sim, 'PUT', s.orderId, { price: '1390' });
  await eventually(() => s.running.broker.book.get(s.intentId)?.limitPrice === 139_000, 'the ledger to hold the venue\'s price', SECONDS);
  assert.notEqual(s.running.broker.book.get(s.intentId)?.state, 'cancelled');
  await eventually(() => s.running.killStore.current().global.level === 2, 'kill level 2 after the second check', 10_000);
  const reports = (await readLog(s.nc)).flatMap((e) => (e.event.kind === 'reconcile' && e.event.report.trigger !== 'start' ? [e.event.report] : []));
  assert.equal(reports[0]?.trigger, 'venue_update', 'the update asked for the check, not a periodic run');
  assert.deepEqual(reports[0]!.differences.filter((d) => d.kind === 'order_changed').map((d) => [d.resolution, d.field, d.local, d.atVenue]), [['kill_raised', 'limitPrice', 140_000, 139_000]]);
});

test('an order placed and filled at Kite outside orch (a position nobody in orch knows of) is reported by a reconciliation its update asks for, and latches kill level 2', async (t) => {
  const s = await resting(t, 'kite-outside-fill');
  const r = await fetch(`${s.sim.restUrl}/orders/regular`, {
    method: 'POST', body: new URLSearchParams({ exchange: 'NSE', tradingsymbol: 'INFY', transaction_type: 'BUY', quantity: '3', product: 'MIS', order_type: 'LIMIT', price: '1600', validity: 'DAY' }),
    headers: { 'X-Kite-Version': '3', Authorization: `token ${s.sim.credentials.apiKey}:${s.sim.issueAccessToken()}` },
  });
  assert.equal(r.status, 200, await r.text());
  await eventually(() => s.running.killStore.current().global.level === 2, 'kill level 2', 10_000);
  const first = (await readLog(s.nc)).flatMap((e) => (e.event.kind === 'reconcile' && e.event.report.trigger === 'venue_update' ? [e.event.report] : []))[0];
  assert.ok(first, 'a reconciliation asked for by the update');
  assert.ok(first.differences.some((d) => d.kind === 'unrecognised_order' || d.kind === 'position'), JSON.stringify(first.differences));
});
