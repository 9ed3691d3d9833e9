import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Intent, KillLevel, Side } from '../../actors/messages.ts';
import { KILL_LEVELS } from '../../actors/messages.ts';
import { ACTIVE_ENTRY, effectiveLevel, killGate, permits, type KillLevels, type Position } from './levels.ts';

const base = { strategyId: 'mr1', ts: 1 };
const place = (side: Side, qty: number): Intent => ({ ...base, intentId: `p${side}${qty}`, action: 'place', venue: 'kite', symbol: 'NSE:INFY', side, qty, orderType: 'LIMIT', limitPrice: 150_000 });
const cancel: Intent = { ...base, intentId: 'c1', action: 'cancel', targetIntentId: 'p1' };
const modify = (qty?: number): Intent => ({ ...base, intentId: 'm1', action: 'modify', targetIntentId: 'p1', ...(qty === undefined ? { limitPrice: 149_000 } : { qty }) });

const POSITIONS: Record<string, Position> = {
  flat: { net: 0 },
  long10: { net: 10 },
  long3: { net: 3 },
  short10: { net: -10 },
  short3: { net: -3 },
  long10_openSell6: { net: 10, openSellQty: 6 },
  short10_openBuy6: { net: -10, openBuyQty: 6 },
};
const PLACES: Record<string, Intent> = { buy5: place('BUY', 5), sell5: place('SELL', 5), buy10: place('BUY', 10), sell10: place('SELL', 10) };

/** Level 2 truth table, written out by hand: which placements reduce which position. */
const REDUCES: Record<string, string[]> = {
  flat: [],
  long10: ['sell5', 'sell10'],
  long3: [],
  short10: ['buy5', 'buy10'],
  short3: [],
  long10_openSell6: [],
  short10_openBuy6: [],
};

test('level 0 lets every intent through, whatever the position', () => {
  for (const pos of Object.values(POSITIONS)) {
    for (const intent of [...Object.values(PLACES), cancel, modify(3), modify()]) {
      assert.deepEqual(permits(0, intent, pos, { side: 'BUY', qty: 5 }), { ok: true });
    }
  }
});

test('at level 1 a halted strategy may only cancel: no new orders, no modifications', () => {
  for (const [name, pos] of Object.entries(POSITIONS)) {
    assert.deepEqual(permits(1, cancel, pos), { ok: true }, name);
    for (const intent of [...Object.values(PLACES), modify(3), modify()]) {
      const r = permits(1, intent, pos, { side: 'SELL', qty: 5 });
      assert.equal(r.ok, false, `${name} ${intent.intentId}`);
      if (!r.ok) {
        assert.equal(r.rule, 'kill_level');
        assert.equal(r.figures.level, 1);
        assert.match(r.reason, /STRATEGY HALT/);
      }
    }
  }
});

test('at level 2 only orders that shrink the position pass, and open orders count against it', () => {
  for (const [posName, pos] of Object.entries(POSITIONS)) {
    assert.deepEqual(permits(2, cancel, pos), { ok: true }, `cancel at ${posName}`);
    for (const [intentName, intent] of Object.entries(PLACES)) {
      const r = permits(2, intent, pos);
      const expected = REDUCES[posName]!.includes(intentName);
      assert.equal(r.ok, expected, `${intentName} at ${posName}`);
      if (!r.ok) {
        assert.equal(r.rule, 'kill_level');
        assert.equal(r.figures.position, pos.net);
        assert.match(r.reason, /REDUCE ONLY/);
      }
    }
  }
});

test('at level 2 a SELL larger than the long position is refused: it would flip the book short', () => {
  const r = permits(2, place('SELL', 11), { net: 10 });
  assert.equal(r.ok, false);
  if (!r.ok) assert.deepEqual({ qty: r.figures.qty, position: r.figures.position }, { qty: 11, position: 10 });
});

test('at level 2 a modify may shrink or re-price a reducing order but never grow it or touch an opening one', () => {
  const long = { net: 10, openSellQty: 8 };
  assert.equal(permits(2, modify(), long, { side: 'SELL', qty: 8 }).ok, true, 'price-only modify of a reducing SELL');
  assert.equal(permits(2, modify(4), long, { side: 'SELL', qty: 8 }).ok, true, 'shrink a reducing SELL');
  assert.equal(permits(2, modify(9), long, { side: 'SELL', qty: 8 }).ok, false, 'grow a reducing SELL');
  assert.equal(permits(2, modify(), long, { side: 'BUY', qty: 2 }).ok, false, 'modify an opening BUY');
  assert.equal(permits(2, modify(3), long, undefined).ok, false, 'unknown target');
  // another open SELL of 5 plus this one at 6 would exceed the long 10
  assert.equal(permits(2, modify(6), { net: 10, openSellQty: 13 }, { side: 'SELL', qty: 8 }).ok, false);
});

test('at levels 3 and 4 no strategy intent passes, not even a cancel: the broker cancels itself', () => {
  for (const level of [3, 4] as const) {
    for (const [name, pos] of Object.entries(POSITIONS)) {
      for (const intent of [...Object.values(PLACES), cancel, modify(1), modify()]) {
        const r = permits(level, intent, pos, { side: 'SELL', qty: 1 });
        assert.equal(r.ok, false, `${level} ${name} ${intent.intentId}`);
        if (!r.ok) assert.equal(r.figures.level, level);
      }
    }
  }
});

test('every level answers every intent kind without throwing', () => {
  for (const level of KILL_LEVELS) {
    for (const intent of [...Object.values(PLACES), cancel, modify(2), modify()]) {
      for (const pos of Object.values(POSITIONS)) assert.equal(typeof permits(level, intent, pos).ok, 'boolean');
    }
  }
});

const entry = (level: KillLevel) => ({ ...ACTIVE_ENTRY, level });

test('a strategy is held to the higher of the global level and its own', () => {
  for (const g of KILL_LEVELS) {
    for (const s of KILL_LEVELS) {
      const levels: KillLevels = { global: entry(g), strategies: { mr1: entry(s) } };
      assert.equal(effectiveLevel(levels, 'mr1'), Math.max(g, s));
      assert.equal(effectiveLevel(levels, 'other'), g, 'another strategy only sees the global level');
    }
  }
});

test('a strategy-scoped halt stops that strategy and leaves the others trading', () => {
  const levels: KillLevels = { global: entry(0), strategies: { mr1: entry(1) } };
  assert.equal(killGate(levels, false, place('BUY', 1), { net: 0 }).ok, false);
  assert.equal(killGate(levels, false, { ...place('BUY', 1), strategyId: 'mom1' } as Intent, { net: 0 }).ok, true);
});

test('a process that must restart after a level-4 reset refuses even at level 0', () => {
  const levels: KillLevels = { global: { ...entry(0), restartRequired: true, flattenRevision: 7 }, strategies: {} };
  const r = killGate(levels, true, cancel, { net: 0 });
  assert.equal(r.ok, false);
  if (!r.ok) assert.deepEqual([r.rule, r.figures.flattenRevision], ['restart_required', 7]);
  assert.equal(killGate(levels, false, place('BUY', 1), { net: 0 }).ok, true);
});

test('while level 4 is still latched, the restart refusal says so and does not claim it was reset', () => {
  const raised: KillLevels = { global: { ...entry(4), revision: 9, restartRequired: true, flattenRevision: 9 }, strategies: {} };
  const r = killGate(raised, true, cancel, { net: 0 });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.rule, 'restart_required');
  assert.doesNotMatch(r.reason, /reset while|was reset|and then reset/);
  assert.match(r.reason, /still latched/);
  assert.deepEqual(r.figures, { flattenRevision: 9, level: 4 });
  // After the operator's reset the same process is told the level was reset.
  const reset: KillLevels = { global: { ...entry(0), revision: 12, restartRequired: true, flattenRevision: 9 }, strategies: {} };
  const after = killGate(reset, true, cancel, { net: 0 });
  if (!after.ok) assert.match(after.reason, /raised and then reset/);
});

test('a strategy-scoped level 4 names its own flatten revision in the restart refusal', () => {
  const levels: KillLevels = { global: entry(0), strategies: { mr1: { ...entry(4), revision: 21, restartRequired: true, flattenRevision: 21 } } };
  const r = killGate(levels, true, cancel, { net: 0 });
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.figures.flattenRevision, 21);
});
