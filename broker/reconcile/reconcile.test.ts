import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, emptyProjection, externalPositions, positions, project, type Projection } from '../projection/projection.ts';
import type { LogEvent } from '../events/schema.ts';
import type { VenueOrder, VenuePosition } from '../venue.ts';
import { reconcile, UNATTRIBUTED } from './reconcile.ts';

const T = 1_700_000_000_000;
function placed(intentId: string, qty: number, answered = true, strategyId = 's1'): LogEvent[] {
  const out: LogEvent[] = [
    { kind: 'intent', strategyId, intentId, ts: T, intent: { action: 'place', intentId, strategyId, ts: T, venue: 'kite', symbol: 'NSE:INFY', side: 'BUY', qty, orderType: 'MARKET' } },
    { kind: 'decision', strategyId, intentId, ts: T, decision: 'accepted' },
    { kind: 'venue_write', strategyId, intentId, ts: T, venue: 'kite', op: 'place', request: { intentId, symbol: 'NSE:INFY', side: 'BUY', qty, orderType: 'MARKET' } },
  ];
  if (answered) out.push({ kind: 'venue_answer', strategyId, intentId, ts: T, venue: 'kite', op: 'place', venueOrderId: `V-${intentId}` });
  return out;
}
const vo = (id: string, qty: number, filledQty: number, state: VenueOrder['state'], intentId?: string): VenueOrder => ({
  venueOrderId: `V-${id}`, symbol: 'NSE:INFY', side: 'BUY', qty, filledQty, state, venueStatus: state.toUpperCase(), ts: T + 5, avgPrice: 100,
  ...(intentId ? { intentId } : {}),
});
const pos = (qty: number): VenuePosition[] => (qty === 0 ? [] : [{ symbol: 'NSE:INFY', qty, avgPrice: 100 }]);
const run = (p: Projection, orders: VenueOrder[], positionsAtVenue: VenuePosition[], inflight?: Set<string>) =>
  reconcile(p, { venue: 'kite', orders, positions: positionsAtVenue }, { now: T + 10, ...(inflight ? { inflight } : {}), strategyOf: (id) => p.intents.get(id)?.strategyId });
const applyAll = (p: Projection, out: ReturnType<typeof run>) => { for (const a of out.actions) applyEvent(p, a.event); return p; };

test('a log that matches the venue reconciles with no differences', () => {
  const p = project(placed('a', 5));
  applyEvent(p, { kind: 'order_state', strategyId: 's1', intentId: 'a', ts: T, venue: 'kite', venueOrderId: 'V-a', state: 'open', venueStatus: 'OPEN', filledQty: 0 });
  const out = run(p, [vo('a', 5, 0, 'open', 'a')], pos(0));
  assert.equal(out.result, 'ok');
  assert.deepEqual(out.differences, []);
  assert.deepEqual(out.actions, []);
});

test('an order whose write landed but whose answer never arrived is adopted with its fill', () => {
  const p = project(placed('a', 5, false));
  const out = run(p, [vo('a', 5, 5, 'filled', 'a')], pos(5));
  assert.equal(out.result, 'resolved');
  assert.equal(out.raiseKill, false);
  assert.deepEqual(out.differences.map((d) => d.kind).sort(), ['adopted', 'missed_fill']);
  applyAll(p, out);
  assert.equal(p.book.get('a')?.venueOrderId, 'V-a');
  assert.equal(p.book.get('a')?.state, 'filled');
  assert.equal(positions(p)[0]!.qty, 5);
  // Idempotent: a second run finds nothing left to do.
  assert.equal(run(p, [vo('a', 5, 5, 'filled', 'a')], pos(5)).result, 'ok');
});

test('an order with our tag that the log never saw is adopted; its strategy comes from the intent when known', () => {
  const p = emptyProjection();
  const out = run(p, [vo('x', 2, 2, 'filled', 'x')], pos(2));
  assert.equal(out.result, 'resolved');
  assert.equal(out.actions[0]!.event.kind, 'adopt');
  applyAll(p, out);
  assert.equal(p.book.get('x')?.strategyId, UNATTRIBUTED);
  assert.equal(positions(p)[0]!.qty, 2);
});

test('a fill we missed while down is applied and the position then matches', () => {
  const p = project(placed('a', 10));
  const out = run(p, [vo('a', 10, 4, 'partially_filled', 'a')], pos(4));
  assert.equal(out.result, 'resolved');
  const missed = out.differences.find((d) => d.kind === 'missed_fill')!;
  assert.equal(missed.field, 'filledQty');
  assert.equal(missed.local, 0);
  assert.equal(missed.atVenue, 4);
  assert.equal(out.actions.filter((a) => a.event.kind === 'fill').length, 1);
  assert.match(out.actions.find((a) => a.event.kind === 'fill')!.msgId!, /^fill:V-a:4$/);
});

test('an order we do not recognise is reported and left alone, and its fills make an unexplained position', () => {
  const p = emptyProjection();
  const out = run(p, [vo('manual', 3, 3, 'filled')], pos(3));
  assert.equal(out.result, 'mismatch');
  assert.equal(out.raiseKill, true);
  assert.deepEqual(out.actions, []);
  const unknown = out.differences.find((d) => d.kind === 'unrecognised_order')!;
  assert.equal(unknown.resolution, 'reported');
  const posDiff = out.differences.find((d) => d.kind === 'position')!;
  assert.deepEqual({ field: posDiff.field, local: posDiff.local, atVenue: posDiff.atVenue, resolution: posDiff.resolution, symbol: posDiff.symbol }, { field: 'qty', local: 0, atVenue: 3, resolution: 'kill_raised', symbol: 'NSE:INFY' });
});

test('a position the venue does not have is reported field by field and raises the kill switch', () => {
  const p = project(placed('a', 5));
  applyEvent(p, { kind: 'fill', strategyId: 's1', intentId: 'a', ts: T, venue: 'kite', venueOrderId: 'V-a', symbol: 'NSE:INFY', side: 'BUY', fill: { fillId: 'V-a:5', qty: 5, price: 100, ts: T } });
  applyEvent(p, { kind: 'order_state', strategyId: 's1', intentId: 'a', ts: T, venue: 'kite', venueOrderId: 'V-a', state: 'filled', venueStatus: 'COMPLETE', filledQty: 5 });
  const out = run(p, [vo('a', 5, 5, 'filled', 'a')], pos(2));
  assert.equal(out.result, 'mismatch');
  assert.deepEqual(out.differences.map((d) => [d.kind, d.field, d.local, d.atVenue]), [['position', 'qty', 5, 2]]);
});

test('an order that never reached the venue is closed as rejected, unless its write is still in flight', () => {
  const p = project(placed('a', 5, false));
  const waiting = run(p, [], pos(0), new Set(['a']));
  assert.equal(waiting.result, 'ok');
  const out = run(p, [], pos(0));
  assert.deepEqual(out.differences.map((d) => d.kind), ['not_landed']);
  applyAll(p, out);
  assert.equal(p.book.get('a')?.state, 'rejected');
});

test('an order the log has a venue id for but the venue does not list is reported, not changed', () => {
  const p = project(placed('a', 5));
  const out = run(p, [], pos(0));
  assert.deepEqual(out.differences.map((d) => [d.kind, d.resolution]), [['missing_at_venue', 'reported']]);
  assert.deepEqual(out.actions, []);
});

test('reconcile never changes the projection it is given', () => {
  const p = project(placed('a', 5, false));
  const before = JSON.stringify(p.book.all());
  run(p, [vo('a', 5, 5, 'filled', 'a'), vo('m', 1, 1, 'filled')], pos(9));
  assert.equal(JSON.stringify(p.book.all()), before);
  assert.deepEqual(positions(p), []);
});

/** What the runner does with a report: it becomes a `reconcile` event, folded like any other. */
const record = (p: Projection, out: ReturnType<typeof run>) =>
  applyEvent(p, { kind: 'reconcile', ts: T, report: { venue: 'kite', result: out.result, trigger: 'start', differences: out.differences, ts: T } });

test('a position no strategy holds becomes the baseline when asked, is never counted as a strategy\'s, and later runs match it', () => {
  const p = emptyProjection();
  const asked = reconcile(p, { venue: 'kite', orders: [vo('manual', 3, 3, 'filled')], positions: pos(3) }, { now: T, baselineExternal: true });
  assert.equal(asked.raiseKill, false);
  assert.equal(asked.result, 'resolved');
  const ext = asked.differences.find((d) => d.kind === 'external_position')!;
  assert.deepEqual([ext.resolution, ext.symbol, ext.local, ext.atVenue], ['baseline', 'NSE:INFY', 0, 3]);
  record(p, asked);
  assert.deepEqual(externalPositions(p), [{ venue: 'kite', symbol: 'NSE:INFY', qty: 3 }]);
  assert.deepEqual(positions(p), [], 'no strategy owns it');
  // A strategy buys 5 on top: the venue shows 8, which is what the log expects.
  for (const e of placed('a', 5)) applyEvent(p, e);
  applyEvent(p, { kind: 'fill', strategyId: 's1', intentId: 'a', ts: T, venue: 'kite', venueOrderId: 'V-a', symbol: 'NSE:INFY', side: 'BUY', fill: { fillId: 'V-a:5', qty: 5, price: 100, ts: T } });
  applyEvent(p, { kind: 'order_state', strategyId: 's1', intentId: 'a', ts: T, venue: 'kite', venueOrderId: 'V-a', state: 'filled', venueStatus: 'COMPLETE', filledQty: 5 });
  assert.equal(run(p, [vo('manual', 3, 3, 'filled'), vo('a', 5, 5, 'filled', 'a')], pos(8)).raiseKill, false);
});

test('after a baseline, a further manual trade is a mismatch again; accepting it moves the baseline', () => {
  const p = emptyProjection();
  record(p, reconcile(p, { venue: 'kite', orders: [], positions: pos(3) }, { now: T, baselineExternal: true }));
  const out = run(p, [], pos(1));
  assert.equal(out.raiseKill, true);
  const d = out.differences.find((x) => x.kind === 'position')!;
  assert.deepEqual([d.local, d.atVenue], [3, 1]);
  assert.match(d.note!, /3 of it held outside the strategies/);
  record(p, reconcile(p, { venue: 'kite', orders: [], positions: pos(1) }, { now: T, baselineExternal: true }));
  assert.equal(p.external.get('kite|NSE:INFY'), 1);
  record(p, reconcile(p, { venue: 'kite', orders: [], positions: [] }, { now: T, baselineExternal: true }));
  assert.equal(p.external.has('kite|NSE:INFY'), false, 'a baseline back to zero is dropped');
  assert.equal(run(p, [], []).result, 'ok');
});

test('an order we do not recognise is reported once per state, not on every run', () => {
  const p = emptyProjection();
  const first = reconcile(p, { venue: 'kite', orders: [vo('manual', 3, 0, 'open')], positions: [] }, { now: T });
  assert.deepEqual(first.differences.map((d) => d.kind), ['unrecognised_order']);
  record(p, first);
  assert.equal(reconcile(p, { venue: 'kite', orders: [vo('manual', 3, 0, 'open')], positions: [] }, { now: T }).result, 'ok');
  const filled = reconcile(p, { venue: 'kite', orders: [vo('manual', 3, 3, 'filled')], positions: [] }, { now: T });
  assert.deepEqual(filled.differences.filter((d) => d.kind === 'unrecognised_order').map((d) => d.atVenue), ['FILLED'], 'reported again when its state changes');
});

/** A resting LIMIT order of 5 at 100.00 (10_000 paise), open at the venue. */
function restingLimit(): Projection {
  const intentId = 'L';
  const p = project([
    { kind: 'intent', strategyId: 's1', intentId, ts: T, intent: { action: 'place', intentId, strategyId: 's1', ts: T, venue: 'kite', symbol: 'NSE:INFY', side: 'BUY', qty: 5, orderType: 'LIMIT', limitPrice: 10_000 } },
    { kind: 'decision', strategyId: 's1', intentId, ts: T, decision: 'accepted' },
    { kind: 'venue_answer', strategyId: 's1', intentId, ts: T, venue: 'kite', op: 'place', venueOrderId: 'V-L' },
    { kind: 'order_state', strategyId: 's1', intentId, ts: T, venue: 'kite', venueOrderId: 'V-L', state: 'open', venueStatus: 'OPEN', filledQty: 0 },
  ]);
  return p;
}
const limitAt = (qty: number, limitPrice: number): VenueOrder => ({ ...vo('L', qty, 0, 'open', 'L'), limitPrice });
const modifyWrite = (qty: number, limitPrice: number): LogEvent =>
  ({ kind: 'venue_write', strategyId: 's1', intentId: 'M1', ts: T + 1, venue: 'kite', op: 'modify', venueOrderId: 'V-L', change: { targetIntentId: 'L', qty, limitPrice } });

test('a modify that landed at the venue while its answer was lost: the difference is reported as applied and the order takes the venue\'s price and quantity', () => {
  const p = restingLimit();
  applyEvent(p, modifyWrite(7, 10_100));
  applyEvent(p, { kind: 'venue_answer', strategyId: 's1', intentId: 'M1', ts: T + 2, venue: 'kite', op: 'modify', venueOrderId: 'V-L', error: { name: 'VenueError', venue: 'kite', kind: 'Timeout', message: 'no answer' } });
  const out = run(p, [limitAt(7, 10_100)], pos(0));
  assert.equal(out.result, 'resolved');
  assert.equal(out.raiseKill, false);
  assert.deepEqual(out.differences.map((d) => [d.kind, d.resolution, d.field, d.local, d.atVenue]), [
    ['order_changed', 'applied', 'qty', 5, 7],
    ['order_changed', 'applied', 'limitPrice', 10_000, 10_100],
  ]);
  applyAll(p, out);
  assert.deepEqual([p.book.get('L')?.qty, p.book.get('L')?.limitPrice], [7, 10_100]);
  assert.equal(run(p, [limitAt(7, 10_100)], pos(0)).result, 'ok', 'nothing left to say on the next check');
});

test('an order changed outside orch (a shape no intent asked for) is a mismatch on every check while it rests so; the venue\'s shape is still taken', () => {
  const p = restingLimit();
  const out = run(p, [limitAt(9, 9_900)], pos(0));
  assert.equal(out.result, 'mismatch');
  assert.equal(out.raiseKill, true);
  assert.deepEqual(out.differences.map((d) => [d.kind, d.resolution, d.field, d.local, d.atVenue]), [
    ['order_changed', 'kill_raised', 'qty', 5, 9],
    ['order_changed', 'kill_raised', 'limitPrice', 10_000, 9_900],
  ]);
  applyAll(p, out);
  assert.deepEqual([p.book.get('L')?.qty, p.book.get('L')?.limitPrice], [9, 9_900], 'the limits judge the order as it rests');
  const again = run(p, [limitAt(9, 9_900)], pos(0));
  assert.equal(again.result, 'mismatch', 'a second check finds it still: the persistent-difference rule can latch');
  // Cancelled (or re-priced by a modify of ours that the venue confirms), it is no longer reported.
  applyEvent(p, { kind: 'venue_answer', strategyId: 's1', intentId: 'M2', ts: T + 3, venue: 'kite', op: 'modify', venueOrderId: 'V-L', change: { targetIntentId: 'L', qty: 9, limitPrice: 9_950 } });
  assert.equal(run(p, [limitAt(9, 9_950)], pos(0)).result, 'ok');
});

test('a MARKET order\'s price at the venue (a protected order at its band edge) is not a difference', () => {
  const p = project(placed('a', 5));
  applyEvent(p, { kind: 'order_state', strategyId: 's1', intentId: 'a', ts: T, venue: 'kite', venueOrderId: 'V-a', state: 'open', venueStatus: 'OPEN', filledQty: 0 });
  const out = run(p, [{ ...vo('a', 5, 0, 'open', 'a'), limitPrice: 10_200 }], pos(0));
  assert.equal(out.raiseKill, false);
  assert.deepEqual(out.differences.filter((d) => d.kind === 'order_changed'), []);
});
