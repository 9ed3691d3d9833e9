import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, emptyProjection, openOrders, positions, project, strategyPnl } from './projection.ts';
import { orderUpdateEvents } from './order-events.ts';
import type { LogEvent } from '../events/schema.ts';
import { LogEventSchema } from '../events/schema.ts';
import type { VenueOrder } from '../venue.ts';

const T = 1_700_000_000_000;
function placed(intentId: string, side: 'BUY' | 'SELL', qty: number, strategyId = 's1', symbol = 'NSE:INFY'): LogEvent[] {
  return [
    { kind: 'intent', strategyId, intentId, ts: T, intent: { action: 'place', intentId, strategyId, ts: T, venue: 'kite', symbol, side, qty, orderType: 'LIMIT', limitPrice: 150_000 } },
    { kind: 'decision', strategyId, intentId, ts: T, decision: 'accepted' },
    { kind: 'venue_write', strategyId, intentId, ts: T, venue: 'kite', op: 'place', request: { intentId, symbol, side, qty, orderType: 'LIMIT', limitPrice: 150_000 } },
    { kind: 'venue_answer', strategyId, intentId, ts: T, venue: 'kite', op: 'place', venueOrderId: `V-${intentId}` },
  ];
}
const report = (intentId: string, filledQty: number, avgPrice: number, state: VenueOrder['state'], qty: number, side: 'BUY' | 'SELL' = 'BUY'): VenueOrder => ({
  venueOrderId: `V-${intentId}`, intentId, symbol: 'NSE:INFY', side, qty, filledQty, avgPrice, state, venueStatus: state.toUpperCase(), ts: T + 1,
});

/** Live path: venue reports become events, which are applied; returns the events for replay. */
function live(p: ReturnType<typeof emptyProjection>, events: LogEvent[], reports: VenueOrder[]): LogEvent[] {
  for (const e of events) applyEvent(p, e);
  const all = [...events];
  for (const r of reports) for (const { event } of orderUpdateEvents(p, 'kite', r, T + 2)) { applyEvent(p, event); all.push(event); }
  return all;
}

test('replaying the log rebuilds the same orders, positions and P&L the live broker had', () => {
  const p = emptyProjection();
  const log = live(p, [...placed('a', 'BUY', 10), ...placed('b', 'SELL', 4)], [
    report('a', 6, 150_000, 'partially_filled', 10), report('a', 10, 151_000, 'filled', 10), report('b', 4, 155_000, 'filled', 4, 'SELL'),
  ]);
  for (const e of log) LogEventSchema.parse(e);
  const replayed = project(log);
  assert.deepEqual(positions(replayed), positions(p));
  assert.deepEqual(openOrders(replayed), openOrders(p));
  assert.deepEqual(replayed.book.all(), p.book.all());
  assert.equal(positions(p)[0]!.qty, 6);
});

test('a fill logged twice (a crash between append and ack) counts once', () => {
  const p = emptyProjection();
  const log = live(p, placed('a', 'BUY', 5), [report('a', 5, 100, 'filled', 5)]);
  const fill = log.find((e) => e.kind === 'fill')!;
  const replayed = project([...log, fill, fill]);
  assert.equal(positions(replayed)[0]!.qty, 5);
});

test('realized P&L is first-in first-out in exact integers and unrealized marks the rest at the last price', () => {
  const p = emptyProjection();
  // Buy 10 at 1500.00 (two fills: 6 @ 1500.00, 4 @ 1502.50), sell 7 at 1510.00.
  live(p, [...placed('a', 'BUY', 10), ...placed('b', 'SELL', 7)], [
    report('a', 6, 150_000, 'partially_filled', 10), report('a', 10, 150_100, 'filled', 10), report('b', 7, 151_000, 'filled', 7, 'SELL'),
  ]);
  // Fill prices: 6 @ 150000, 4 @ (150100*10 - 150000*6)/4 = 150250.
  const pnl = strategyPnl(p, 's1', () => 149_000);
  assert.equal(pnl.realized, 6 * (151_000 - 150_000) + 1 * (151_000 - 150_250));
  assert.equal(pnl.unrealized, 3 * (149_000 - 150_250));
  assert.equal(pnl.total, pnl.realized + pnl.unrealized);
  assert.deepEqual(pnl.unpriced, []);
  assert.ok(Number.isInteger(pnl.realized) && Number.isInteger(pnl.unrealized));
  assert.deepEqual(strategyPnl(p, 's1', () => undefined).unpriced, ['NSE:INFY']);
  assert.equal(strategyPnl(p, 'other', () => 1).total, 0);
});

test('a short is closed by a purchase and earns entry minus exit', () => {
  const p = emptyProjection();
  live(p, [...placed('a', 'SELL', 3), ...placed('b', 'BUY', 5)], [report('a', 3, 200, 'filled', 3, 'SELL'), report('b', 5, 180, 'filled', 5)]);
  const pnl = strategyPnl(p, 's1', () => 190);
  assert.equal(pnl.realized, 3 * (200 - 180));
  assert.equal(pnl.unrealized, 2 * (190 - 180));
  assert.equal(positions(p)[0]!.qty, 2);
});

test('a resent intent finds its first decision in the replayed log', () => {
  const denied: LogEvent[] = [
    { kind: 'intent', strategyId: 's1', intentId: 'd', ts: T, intent: { action: 'place', intentId: 'd', strategyId: 's1', ts: T, venue: 'kite', symbol: 'NSE:INFY', side: 'BUY', qty: 1, orderType: 'MARKET' } },
    { kind: 'decision', strategyId: 's1', intentId: 'd', ts: T, decision: 'denied', rule: 'max_order_qty', reason: 'too big' },
  ];
  const p = project([...placed('a', 'BUY', 1), ...denied]);
  assert.deepEqual(p.decisions.get('a'), { status: 'accepted', venueOrderId: 'V-a' });
  assert.equal(p.decisions.get('d')?.status, 'denied');
  assert.equal(p.book.get('d'), undefined);
});

test('a write refused by the venue closes the order as rejected', () => {
  const ev = placed('a', 'BUY', 1).slice(0, 3);
  const p = project([...ev, { kind: 'venue_answer', strategyId: 's1', intentId: 'a', ts: T, venue: 'kite', op: 'place', error: { name: 'VenueError', venue: 'kite', kind: 'InputException', message: 'bad' } }]);
  assert.equal(p.book.get('a')?.state, 'rejected');
  assert.deepEqual(openOrders(p), []);
});

test('a place the venue refused answers a resend with that refusal, after a replay too', () => {
  const refused: LogEvent[] = [
    ...placed('a', 'BUY', 1).slice(0, 3),
    { kind: 'venue_answer', strategyId: 's1', intentId: 'a', ts: T, venue: 'kite', op: 'place', error: { name: 'VenueError', venue: 'kite', kind: 'MarginException', message: 'no margin' } },
    { kind: 'decision', strategyId: 's1', intentId: 'a', ts: T, decision: 'denied', rule: 'venue_MarginException', reason: 'no margin' },
  ];
  const p = project(refused);
  assert.deepEqual(p.decisions.get('a'), { status: 'denied', rule: 'venue_MarginException', reason: 'no margin' });
});

test('an accepted place that reconciliation found never reached the venue answers a resend not_landed, not accepted', () => {
  // The accepting broker died after its write-ahead: decision and write stored, no answer.
  const written = placed('a', 'BUY', 1).slice(0, 3);
  const notLanded: LogEvent = { kind: 'order_state', strategyId: 's1', intentId: 'a', ts: T + 1, venue: 'kite', state: 'rejected', venueStatus: 'NOT LANDED', filledQty: 0, message: 'the write never reached the venue (found by reconciliation)' };
  assert.deepEqual(project(written).decisions.get('a'), { status: 'accepted' }, 'undecided until reconciled');
  const p = project([...written, notLanded]);
  assert.equal(p.book.get('a')?.state, 'rejected');
  assert.deepEqual(p.decisions.get('a'), { status: 'denied', rule: 'not_landed', reason: 'the write never reached the venue (found by reconciliation)' });
  // A place the venue took is never turned into a refusal by a late report.
  const took = project([...placed('b', 'BUY', 1), { ...notLanded, intentId: 'b' }]);
  assert.deepEqual(took.decisions.get('b'), { status: 'accepted', venueOrderId: 'V-b' });
});

test('a denial never overrides a place the venue took', () => {
  const p = project([...placed('a', 'BUY', 1), { kind: 'decision', strategyId: 's1', intentId: 'a', ts: T, decision: 'denied', rule: 'late', reason: 'late' }]);
  assert.deepEqual(p.decisions.get('a'), { status: 'accepted', venueOrderId: 'V-a' });
});

test('a modify the venue took moves the order to its new quantity and price, live and on replay; a failed one changes nothing', () => {
  const p = emptyProjection();
  const mod = (intentId: string, change: { qty: number; limitPrice?: number }, error = false): LogEvent[] => [
    { kind: 'venue_write', strategyId: 's1', intentId, ts: T, venue: 'kite', op: 'modify', venueOrderId: 'V-a', change: { targetIntentId: 'a', ...change } },
    error
      ? { kind: 'venue_answer', strategyId: 's1', intentId, ts: T, venue: 'kite', op: 'modify', venueOrderId: 'V-a', error: { name: 'VenueError', venue: 'kite', kind: 'InputException', message: 'Maximum allowed order modifications exceeded.' } }
      : { kind: 'venue_answer', strategyId: 's1', intentId, ts: T, venue: 'kite', op: 'modify', venueOrderId: 'V-a', change: { targetIntentId: 'a', ...change } },
  ];
  const log = live(p, [...placed('a', 'BUY', 10), ...mod('m1', { qty: 12, limitPrice: 149_000 }), ...mod('m2', { qty: 20, limitPrice: 140_000 }, true)], []);
  for (const e of log) LogEventSchema.parse(e);
  assert.deepEqual([p.book.get('a')?.qty, p.book.get('a')?.limitPrice], [12, 149_000]);
  assert.deepEqual(project(log).book.all(), p.book.all());
});

test('the venue showing a live order at another quantity or price (a modify whose answer was lost) wins, and the log replays to it; a finished order keeps its shape', () => {
  const p = emptyProjection();
  const landed: VenueOrder = { ...report('a', 0, 0, 'open', 12), limitPrice: 149_000 };
  delete landed.avgPrice;
  const log = live(p, [...placed('a', 'BUY', 10)], [landed]);
  for (const e of log) LogEventSchema.parse(e);
  assert.deepEqual([p.book.get('a')?.qty, p.book.get('a')?.limitPrice], [12, 149_000]);
  assert.deepEqual(project(log).book.all(), p.book.all(), 'the order_state event carries the new shape');
  const done = live(p, [], [report('a', 12, 149_000, 'filled', 12), { ...report('a', 12, 149_000, 'filled', 99), limitPrice: 1 }]);
  assert.deepEqual([p.book.get('a')?.qty, p.book.get('a')?.limitPrice, p.book.get('a')?.state], [12, 149_000, 'filled']);
  assert.deepEqual(project([...log, ...done]).book.all(), p.book.all());
});
