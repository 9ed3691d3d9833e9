import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { TestClock } from '../actors/clock.ts';
import type { Intent, IntentReply, ModifyIntent, OrderUpdate, PlaceIntent, Tick } from '../actors/messages.ts';
import type { StrategySpec } from '../config/registry.ts';
import { FakeVenue } from '../test/support/fake-venue.ts';
import { spec } from '../test/support/specs.ts';
import type { EventLog } from './event-log.ts';
import { ACTIVE_ENTRY, type KillLevels } from './kill/levels.ts';
import { buildOrderPath } from './order-path.ts';

/**
 * The broker's order path as the actor wires it (broker/order-path.ts), driven without NATS or
 * a network: intents go in as the actor hands them over, a fake venue records every write.
 */
const log = pino({ level: 'silent' });
const LAST = 150_000;

function harness(o: { strategies?: StrategySpec[]; maxRateWaitMs?: number; rateWaitMs?: number; outsideChange?: (venue: string) => void } = {}) {
  const clock = new TestClock();
  const venue = new FakeVenue('kite');
  let levels: KillLevels = { global: ACTIVE_ENTRY, strategies: {} };
  const strategies = new Map((o.strategies ?? [spec('s1', { risk: { maxOrderQty: 10, maxOrderValue: 100_000_000, maxPosition: 100, maxOpenOrders: 50, priceBandBps: 500, ordersPerMinute: 60 } })]).map((s) => [s.id, s]));
  const ticks: Tick[] = [];
  const updates: OrderUpdate[] = [];
  const margin: string[] = [];
  const limiter = o.rateWaitMs !== undefined ? { estimateWaitMs: () => o.rateWaitMs! } : undefined;
  const path = buildOrderPath({
    venues: new Map([['kite', venue]]), strategies: () => strategies, clock, log,
    kill: { current: () => levels, mustRestart: () => false },
    publishTick: (t) => ticks.push(t), publishOrder: (u) => updates.push(u),
    fenced: () => undefined, reconciled: () => true,
    onMarginException: (id) => margin.push(id),
    ...(o.outsideChange ? { outsideChange: o.outsideChange } : {}),
    ...(limiter ? { limiter: limiter as never } : {}),
    ...(o.maxRateWaitMs !== undefined ? { maxRateWaitMs: o.maxRateWaitMs } : {}),
  });
  (venue as { placeCategory?: string }).placeCategory = 'kite.orders';
  path.marketData.onTick('kite', { symbol: 'NSE:INFY', last: LAST, ts: clock.now() } as never);
  let n = 0;
  const place = (over: Partial<PlaceIntent> = {}): PlaceIntent => ({
    action: 'place', intentId: `p${++n}`, strategyId: 's1', ts: clock.now(), venue: 'kite', symbol: 'NSE:INFY', side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: LAST, ...over,
  });
  const send = (i: Intent): Promise<IntentReply> => path.intents.answer(i);
  return { clock, venue, path, ticks, updates, margin, place, send, setLevels: (l: KillLevels) => { levels = l; } };
}

/** A promise and the function that settles it: a venue write held back until the test says so. */
function held(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  return { promise: new Promise<void>((r) => (release = r)), release };
}

test('a resent intent while the first is at the venue gets the first answer, marked duplicate: one order at the venue', async () => {
  const h = harness();
  const gate = held();
  h.venue.gate = gate.promise;
  const intent = h.place();
  const first = h.send(intent);
  const again = h.send({ ...intent });
  gate.release();
  h.venue.gate = undefined;
  const [a, b] = await Promise.all([first, again]);
  assert.equal(a.status, 'accepted');
  assert.deepEqual(b, { ...a, duplicate: true });
  assert.equal(h.venue.writes.filter((w) => w.op === 'place').length, 1);
  // After it settled, the ledger's decision answers a third time, still without a second order.
  const third = await h.send({ ...intent });
  assert.equal(third.status === 'accepted' && third.duplicate, true);
  assert.equal(h.venue.writes.length, 1);
});

test('a cancel right behind its place waits for the place to reach the venue, then cancels that order', async () => {
  const h = harness();
  const gate = held();
  h.venue.gate = gate.promise;
  const intent = h.place();
  const placed = h.send(intent);
  const cancelled = h.send({ action: 'cancel', intentId: 'c1', strategyId: 's1', ts: h.clock.now(), targetIntentId: intent.intentId });
  h.venue.gate = undefined;
  gate.release();
  assert.equal((await placed).status, 'accepted');
  const c = await cancelled;
  assert.equal(c.status, 'accepted', JSON.stringify(c));
  assert.deepEqual(h.venue.writes.map((w) => w.op), ['place', 'cancel']);
});

test('the kill switch\'s cancel of everything waits for a place still on its way, so that order is cancelled too', async () => {
  const h = harness();
  const gate = held();
  h.venue.gate = gate.promise;
  const placed = h.send(h.place());
  await Promise.resolve();
  const cancelling = h.path.orders.cancelAll();
  h.venue.gate = undefined;
  gate.release();
  assert.equal((await placed).status, 'accepted');
  assert.equal(await cancelling, 1);
  assert.deepEqual(h.venue.writes.map((w) => [w.op, 'priority' in w ? w.priority : '']), [['place', 'place'], ['cancel', 'kill']]);
});

test('a venue refusal is the answer (venue_<kind>), the order is rejected and its strategy told; a margin refusal halts the strategy', async () => {
  const h = harness();
  h.venue.refuseNext('MarginException', 'insufficient funds');
  const r = await h.send(h.place());
  assert.equal(r.status === 'denied' && r.rule, 'venue_MarginException');
  assert.deepEqual(h.margin, ['s1']);
  assert.deepEqual(h.updates.map((u) => u.state), ['rejected']);
  assert.equal(h.venue.writes.length, 0);
});

test('a write-ahead the event log does not store sends nothing: event_log_unavailable', async () => {
  const h = harness();
  const refusing = { record: () => undefined, append: () => Promise.reject(new Error('stream full')), flush: async () => undefined, pending: () => 0, close: () => undefined };
  h.path.ledger.attach(refusing as unknown as EventLog);
  const r = await h.send(h.place());
  assert.equal(r.status === 'denied' && r.rule, 'event_log_unavailable');
  assert.equal(h.venue.writes.length, 0);
});

test('the kill level is judged first: a halted strategy\'s order is refused and nothing reaches the venue', async () => {
  const h = harness();
  h.setLevels({ global: ACTIVE_ENTRY, strategies: { s1: { ...ACTIVE_ENTRY, level: 1, revision: 1 } } });
  const r = await h.send(h.place());
  assert.equal(r.status === 'denied' && r.rule, 'kill_level');
  assert.equal(h.venue.writes.length, 0);
});

test('one modify per order at a time: a second while the first is at the venue is refused modify_pending', async () => {
  const h = harness();
  const intent = h.place();
  assert.equal((await h.send(intent)).status, 'accepted');
  const gate = held();
  h.venue.gate = gate.promise;
  const m = (id: string, limitPrice: number): ModifyIntent => ({ action: 'modify', intentId: id, strategyId: 's1', ts: h.clock.now(), targetIntentId: intent.intentId, limitPrice });
  const first = h.send(m('m1', LAST - 100));
  await new Promise((r) => setImmediate(r));
  const second = await h.send(m('m2', LAST - 200));
  assert.equal(second.status === 'denied' && second.rule, 'modify_pending');
  h.venue.gate = undefined;
  gate.release();
  assert.equal((await first).status, 'accepted');
  assert.deepEqual(h.venue.writes.map((w) => w.op), ['place', 'modify']);
  assert.equal(h.path.ledger.book.get(intent.intentId)!.limitPrice, LAST - 100);
});

test('a place refused for its rate-limit wait does not use up the orders-per-minute window', async () => {
  const strategies = [spec('s1', { risk: { maxOrderQty: 10, maxOrderValue: 100_000_000, maxPosition: 100, maxOpenOrders: 50, priceBandBps: 500, ordersPerMinute: 1 } })];
  const slow = harness({ strategies, rateWaitMs: 10_000, maxRateWaitMs: 5_000 });
  const r = await slow.send(slow.place());
  assert.equal(r.status === 'denied' && r.rule, 'rate_limited');
  assert.equal(slow.venue.writes.length, 0);
  assert.deepEqual(slow.path.intents.recentPlaces('s1'), [], 'the refused place is not counted as an order');
});

test('ticks are numbered per instrument and the last one is kept for late starters and the price band', () => {
  const h = harness();
  h.path.marketData.onTick('kite', { symbol: 'NSE:INFY', last: LAST + 5, ts: h.clock.now() } as never);
  h.path.marketData.onTick('kite', { symbol: 'NSE:TCS', last: 300_000, ts: h.clock.now() } as never);
  assert.deepEqual(h.ticks.map((t) => [t.symbol, t.seq]), [['NSE:INFY', 1], ['NSE:INFY', 2], ['NSE:TCS', 1]]);
  assert.equal(h.path.marketData.lastPrice('kite', 'NSE:INFY'), LAST + 5);
  assert.deepEqual(h.path.marketData.lastTicks('kite', ['NSE:TCS', 'NSE:SBIN']).map((t) => t.last), [300_000]);
});

test('a live report of an order of ours at a price or quantity no intent asked for asks for a reconciliation once; the placed shape and a repeat of the new one ask nothing', async () => {
  const asked: string[] = [];
  const h = harness({ outsideChange: (v) => asked.push(v) });
  const intent = h.place({ qty: 2 });
  const r = await h.send(intent);
  assert.equal(r.status, 'accepted');
  const report = (over: { qty?: number; limitPrice?: number }) => h.path.updates.onVenueOrder('kite', {
    venueOrderId: 'V1', intentId: intent.intentId, symbol: 'NSE:INFY', side: 'BUY', qty: 2, filledQty: 0, limitPrice: LAST,
    state: 'open', venueStatus: 'OPEN', ts: h.clock.now(), ...over,
  });
  report({});
  assert.deepEqual(asked, [], 'as placed');
  report({ limitPrice: LAST - 500 });
  assert.deepEqual(asked, ['kite'], 're-priced outside orch');
  assert.equal(h.path.ledger.book.get(intent.intentId)?.limitPrice, LAST - 500, 'the venue\'s shape is taken');
  report({ limitPrice: LAST - 500 });
  assert.deepEqual(asked, ['kite'], 'the same shape again: known already, nothing more to ask');
  report({ limitPrice: LAST - 500, qty: 1 });
  assert.deepEqual(asked, ['kite', 'kite'], 'decreased too: a new change');
});
