import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModifyIntent, PlaceIntent } from '../../actors/messages.ts';
import type { GateTarget } from '../risk/gate.ts';
import { TestClock } from '../../actors/clock.ts';
import { spec } from '../../test/helpers/specs.ts';
import type { GateView } from '../broker-actor.ts';
import { ACTIVE_ENTRY, type KillLevels } from './levels.ts';
import { OrderBook } from '../order-book.ts';
import { killSwitchGate, riskLimitGate } from './gates.ts';

const LAST = 150_000;
const strategy = spec('s1', { risk: { maxOrderQty: 10, maxOrderValue: 100_000_000, maxPosition: 20, maxOpenOrders: 50, priceBandBps: 500, ordersPerMinute: 600 } });
let n = 0;
const intent = (side: 'BUY' | 'SELL', qty: number, symbol = 'NSE:INFY'): PlaceIntent => ({
  action: 'place', intentId: `g${++n}`, strategyId: 's1', ts: 0, venue: 'kite', symbol, side, qty, orderType: 'LIMIT', limitPrice: LAST,
});
function view(book: OrderBook, net = 0): GateView {
  return { spec: { ...strategy, instruments: ['NSE:INFY', 'NSE:TCS'] }, position: (s) => (s === 'NSE:INFY' ? net : 0), openOrders: book.open('s1'), lastPrice: () => LAST, now: 0 };
}

test('maxPosition counts the open orders on the same side: six resting BUYs of 5 stop at 20', () => {
  const gate = riskLimitGate(new TestClock());
  const book = new OrderBook();
  const answers: string[] = [];
  for (let i = 0; i < 6; i++) {
    const it = intent('BUY', 5);
    const d = gate(it, view(book));
    answers.push(d.ok ? 'ok' : d.rule);
    if (d.ok) book.register(it, 0); // accepted and resting, nothing filled
  }
  assert.deepEqual(answers, ['ok', 'ok', 'ok', 'ok', 'max_position', 'max_position']);
});

test('maxPosition counts only what an open order still wants, on its own instrument', () => {
  const gate = riskLimitGate(new TestClock());
  const book = new OrderBook();
  const partly = book.register(intent('BUY', 10), 0);
  partly.state = 'partially_filled';
  partly.filledQty = 6; // position 6 (below), 4 still to come
  book.register(intent('BUY', 10, 'NSE:TCS'), 0);
  const ten = intent('BUY', 10);
  assert.equal(gate(ten, view(book, 6)).ok, true, '6 + 4 + 10 = 20, at the limit');
  book.register(ten, 0);
  const d = gate(intent('BUY', 1), view(book, 6));
  assert.equal(!d.ok && d.rule, 'max_position');
  assert.equal(gate(intent('SELL', 10), view(book, 6)).ok, true, 'the other side takes exposure off');
});

test('kill level 2 (reduce only) counts open orders: two SELLs that each fit a long position cannot flip it short', () => {
  const levels: KillLevels = { global: { ...ACTIVE_ENTRY, level: 2, revision: 1 }, strategies: {} };
  const gate = killSwitchGate({ current: () => ({ ...levels, revision: 1 }) as never, mustRestart: () => false });
  const book = new OrderBook();
  const first = intent('SELL', 6);
  assert.equal(gate(first, view(book, 10)).ok, true);
  book.register(first, 0);
  const d = gate(intent('SELL', 6), view(book, 10));
  assert.equal(!d.ok && d.rule, 'kill_level');
  assert.equal(gate(intent('SELL', 4), view(book, 10)).ok, true, 'what is left of the position may still be sold');
});

/** A modify of `rec` through the broker's view: the target is the book's record of it. */
function modifyOf(rec: ReturnType<OrderBook['register']>, change: { qty?: number; limitPrice?: number }): [ModifyIntent, (book: OrderBook, net?: number) => GateView] {
  const m: ModifyIntent = { action: 'modify', intentId: `m${++n}`, strategyId: 's1', ts: 0, targetIntentId: rec.intentId, ...change };
  const target: GateTarget = { symbol: rec.symbol, venue: rec.venue, side: rec.side, qty: rec.qty, filledQty: rec.filledQty, orderType: 'LIMIT', ...(rec.limitPrice !== undefined ? { limitPrice: rec.limitPrice } : {}) };
  return [m, (book, net = 0) => ({ ...view(book, net), target })];
}

test('a modify is judged at its new size and price: maxOrderQty, maxOrderValue, price band and maxPosition with the open orders', () => {
  const gate = riskLimitGate(new TestClock());
  const book = new OrderBook();
  const rec = book.register(intent('BUY', 5), 0);
  book.register(intent('BUY', 8), 0); // 13 wanted on the BUY side
  const rule = (change: { qty?: number; limitPrice?: number }, net = 0) => {
    const [m, v] = modifyOf(rec, change);
    const d = gate(m, v(book, net));
    return d.ok ? 'ok' : d.rule;
  };
  assert.equal(rule({ limitPrice: LAST + 500 }), 'ok', 're-priced inside the band');
  assert.equal(rule({ qty: 11 }), 'max_order_qty');
  assert.equal(rule({ limitPrice: LAST * 2 }), 'price_band');
  assert.equal(rule({ qty: 10 }), 'ok', '8 + 10 = 18 within maxPosition 20: its own 5 counted once, at its new size');
  assert.equal(rule({ qty: 10 }, 3), 'max_position', '3 held + 8 + 10 = 21');
  const tight = riskLimitGate(new TestClock());
  const [m] = modifyOf(rec, { qty: 10 });
  const small = { ...view(book), spec: { ...view(book).spec, risk: { ...strategy.risk, maxOrderValue: 10 * LAST - 1 } }, target: modifyOf(rec, {})[1](book).target! };
  const d = tight(m, small);
  assert.equal(!d.ok && d.rule, 'max_order_value');
});

test('a modify is not a new order: it passes at maxOpenOrders and does not use up the orders-per-minute window', () => {
  const gate = riskLimitGate(new TestClock());
  const book = new OrderBook();
  const limited = (b: OrderBook, target?: GateView['target']): GateView => ({ ...view(b), spec: { ...view(b).spec, risk: { ...strategy.risk, maxOpenOrders: 1, ordersPerMinute: 1 } }, ...(target ? { target } : {}) });
  const first = intent('BUY', 2);
  assert.equal(gate(first, limited(book)).ok, true);
  const rec = book.register(first, 0);
  for (let i = 0; i < 5; i++) {
    const [m, v] = modifyOf(rec, { limitPrice: LAST - 100 * (i + 1) });
    const d = gate(m, limited(book, v(book).target));
    assert.equal(d.ok, true, `modify ${i + 1}: ${d.ok ? '' : d.rule}`);
  }
  const d = gate(intent('BUY', 1), limited(book));
  assert.equal(!d.ok && d.rule, 'max_open_orders', 'a second order is still refused');
  book.get(rec.intentId)!.state = 'cancelled';
  const again = gate(intent('BUY', 1), limited(book));
  assert.equal(!again.ok && again.rule, 'orders_per_minute', 'one place in the minute, as before: the five modifies did not count');
});

test('the kill level decides a modify first: level 1 and 3 refuse it, level 2 only when the order reduces and does not grow', () => {
  const book = new OrderBook();
  const sell = book.register(intent('SELL', 6), 0);
  const buy = book.register(intent('BUY', 2), 0);
  const at = (scope: 'global' | 'strategy', level: 0 | 1 | 2 | 3) => {
    const levels: KillLevels = scope === 'global'
      ? { global: { ...ACTIVE_ENTRY, level, revision: 1 }, strategies: {} }
      : { global: ACTIVE_ENTRY, strategies: { s1: { ...ACTIVE_ENTRY, level, revision: 1 } } };
    return killSwitchGate({ current: () => ({ ...levels, revision: 1 }) as never, mustRestart: () => false });
  };
  const decide = (gate: ReturnType<typeof at>, rec: typeof sell, change: { qty?: number; limitPrice?: number }) => {
    const [m, v] = modifyOf(rec, change);
    const d = gate(m, v(book, 10));
    return d.ok ? 'ok' : d.rule;
  };
  assert.equal(decide(at('strategy', 1), sell, { limitPrice: LAST - 100 }), 'kill_level');
  assert.equal(decide(at('global', 3), sell, { limitPrice: LAST - 100 }), 'kill_level');
  assert.equal(decide(at('global', 2), sell, { limitPrice: LAST - 100 }), 'ok', 're-pricing a SELL that reduces a long');
  assert.equal(decide(at('global', 2), sell, { qty: 4 }), 'ok', 'shrinking it');
  assert.equal(decide(at('global', 2), sell, { qty: 7 }), 'kill_level', 'growing it');
  assert.equal(decide(at('global', 2), buy, { limitPrice: LAST + 100 }), 'kill_level', 'a BUY that adds to the long');
});
