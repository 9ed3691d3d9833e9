import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KiteOrderStates, kiteTime, normalizedState, transition, type KiteOrderSnapshot, type KiteReport } from './order-state.ts';

const r = (status: string, filledQty = 0, qty = 10, updatedAt?: number): KiteReport => ({ status, qty, filledQty, ...(updatedAt !== undefined ? { updatedAt } : {}) });
const snap = (status: KiteOrderSnapshot['status'], filledQty = 0, qty = 10, updatedAt?: number): KiteOrderSnapshot => ({ status, qty, filledQty, ...(updatedAt !== undefined ? { updatedAt } : {}) });

test("an order walks Kite's statuses from request to fill, with a partial fill on the way", () => {
  const s = new KiteOrderStates();
  const path = [r('PUT ORDER REQ RECEIVED'), r('VALIDATION PENDING'), r('OPEN PENDING'), r('OPEN'), r('UPDATE', 4), r('COMPLETE', 10)];
  const states = path.map((p) => {
    const { verdict, current } = s.observe('1', p);
    assert.equal(verdict.kind, 'apply', JSON.stringify(p));
    return normalizedState(current!);
  });
  assert.deepEqual(states, ['pending', 'pending', 'pending', 'open', 'partially_filled', 'filled']);
});

test('the same report from postback, ticker and poll is applied once; the repeats are duplicates', () => {
  const s = new KiteOrderStates();
  assert.equal(s.observe('1', r('OPEN', 3)).verdict.kind, 'apply');
  assert.equal(s.observe('1', r('OPEN', 3)).verdict.kind, 'duplicate');
  assert.equal(s.observe('1', r('COMPLETE', 10)).verdict.kind, 'apply');
  assert.equal(s.observe('1', r('COMPLETE', 10)).verdict.kind, 'duplicate');
});

test('a report older than what we know is ignored, and an older status never undoes a newer one', () => {
  assert.equal(transition(snap('OPEN'), r('VALIDATION PENDING')).kind, 'stale');
  assert.equal(transition(snap('OPEN', 5), r('OPEN', 3)).kind, 'stale');
  assert.equal(transition(snap('CANCEL PENDING', 2), r('OPEN', 2)).kind, 'stale');
  assert.equal(transition(snap('CANCELLED', 2), r('OPEN', 2)).kind, 'stale');
  assert.equal(transition(snap('MODIFIED', 0, 10, 2_000), r('OPEN', 0, 10, 1_000)).kind, 'stale');
  assert.equal(transition(snap('COMPLETE', 10), r('UPDATE', 10)).kind, 'stale');
});

test('a late report that carries more fills keeps the newer status and takes the fill', () => {
  const v = transition(snap('CANCEL PENDING', 2), r('OPEN', 5));
  assert.deepEqual(v, { kind: 'apply', next: snap('CANCEL PENDING', 5) });
});

test('impossible transitions are refused: out of a final state, fills past the quantity, inconsistent finals', () => {
  const cases: [KiteOrderSnapshot | undefined, KiteReport][] = [
    [snap('COMPLETE', 10), r('CANCELLED', 10)],
    [snap('CANCELLED', 2), r('CANCELLED', 4)],
    [snap('REJECTED'), r('OPEN', 1)],
    [snap('CANCELLED'), r('REJECTED')],
    [undefined, r('COMPLETE', 4)],
    [undefined, r('REJECTED', 1)],
    [undefined, r('OPEN', 11)],
    [snap('CANCELLED', 2), r('NOT MODIFIED', 4)],
    [snap('OPEN'), r('OPEN', -1)],
  ];
  for (const [prev, inc] of cases) assert.equal(transition(prev, inc).kind, 'impossible', `${prev?.status} → ${JSON.stringify(inc)}`);
});

test('a modification cycle moves laterally among live statuses and may change the quantity', () => {
  const s = new KiteOrderStates();
  for (const p of [r('OPEN'), r('MODIFY VALIDATION PENDING'), r('MODIFY PENDING'), r('MODIFIED', 0, 12), r('OPEN', 0, 12)]) {
    assert.equal(s.observe('1', p).verdict.kind, 'apply', p.status);
  }
  assert.equal(s.get('1')!.qty, 12);
});

test('a trigger-pending order announced as UPDATE with fills has triggered; without fills it stays pending on its trigger', () => {
  assert.equal(transition(snap('TRIGGER PENDING'), r('UPDATE', 0, 10, 5)).kind, 'duplicate');
  assert.deepEqual(transition(snap('TRIGGER PENDING'), r('UPDATE', 0, 20)), { kind: 'apply', next: snap('TRIGGER PENDING', 0, 20) });
  assert.deepEqual(transition(snap('TRIGGER PENDING'), r('UPDATE', 3)), { kind: 'apply', next: snap('OPEN', 3) });
  assert.equal(normalizedState(snap('TRIGGER PENDING')), 'open');
});

function shuffle<T>(xs: T[], seed: number): T[] {
  const a = [...xs];
  let s = seed;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

test('whatever order the three paths deliver a real history in, the order ends in its final state and nothing is refused', () => {
  const histories: KiteReport[][] = [
    [r('PUT ORDER REQ RECEIVED'), r('VALIDATION PENDING'), r('OPEN PENDING'), r('OPEN'), r('UPDATE', 3), r('UPDATE', 7), r('COMPLETE', 10)],
    [r('PUT ORDER REQ RECEIVED'), r('VALIDATION PENDING'), r('OPEN PENDING'), r('OPEN'), r('OPEN', 3), r('CANCEL PENDING', 3), r('CANCELLED', 3)],
    [r('PUT ORDER REQ RECEIVED'), r('VALIDATION PENDING'), r('REJECTED')],
    [r('PUT ORDER REQ RECEIVED'), r('OPEN'), r('MODIFY VALIDATION PENDING'), r('MODIFIED', 0, 12), r('OPEN', 0, 12), r('COMPLETE', 12, 12)],
  ];
  for (const [h, hist] of histories.entries()) {
    for (let seed = 1; seed <= 300; seed++) {
      // Each path may also repeat a report.
      const delivered = shuffle([...hist, ...hist.filter((_, i) => (i + seed) % 3 === 0)], seed * 7 + h);
      const s = new KiteOrderStates();
      for (const rep of delivered) assert.notEqual(s.observe('x', rep).verdict.kind, 'impossible', `history ${h} seed ${seed}: ${JSON.stringify(rep)}`);
      const last = hist.at(-1)!;
      assert.deepEqual([s.get('x')!.status, s.get('x')!.filledQty], [last.status, last.filledQty], `history ${h} seed ${seed}`);
    }
  }
});

test("Kite's IST timestamps are read as IST", () => {
  assert.equal(kiteTime('2026-11-23 09:15:00'), Date.UTC(2026, 10, 23, 3, 45, 0));
  assert.equal(kiteTime(null), undefined);
  assert.equal(kiteTime('not a time'), undefined);
});

test('the table forgets finished orders first when full', () => {
  const s = new KiteOrderStates(2);
  s.observe('done', r('COMPLETE', 10));
  s.observe('a', r('OPEN'));
  s.observe('b', r('OPEN'));
  assert.equal(s.get('done'), undefined);
  assert.ok(s.get('a') && s.get('b'));
});

test('a status outside the table (NOT MODIFIED) is kept with the order\'s phase unchanged, never dropped', () => {
  assert.deepEqual(transition(snap('OPEN'), r('NOT MODIFIED')), { kind: 'apply', next: { status: 'OPEN', rawStatus: 'NOT MODIFIED', qty: 10, filledQty: 0 } });
  assert.deepEqual(transition(snap('TRIGGER PENDING', 2), r('NOT MODIFIED', 3)), { kind: 'apply', next: { status: 'TRIGGER PENDING', rawStatus: 'NOT MODIFIED', qty: 10, filledQty: 3 } }, 'its fills are taken');
  assert.deepEqual(transition(undefined, r('SOME NEW STATUS', 1)), { kind: 'apply', next: { status: 'OPEN', rawStatus: 'SOME NEW STATUS', qty: 10, filledQty: 1 } }, 'a first sight is a live order');
  assert.equal(transition(snap('CANCELLED'), r('NOT MODIFIED')).kind, 'stale', 'a late report after the end');
  const s = new KiteOrderStates();
  s.observe('1', r('OPEN'));
  assert.equal(s.observe('1', r('NOT MODIFIED')).verdict.kind, 'apply');
  assert.equal(s.observe('1', r('NOT MODIFIED')).verdict.kind, 'duplicate');
  assert.equal(s.observe('1', r('COMPLETE', 10)).verdict.kind, 'apply', 'and the order goes on to its end');
});
