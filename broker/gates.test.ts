import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlaceIntent } from '../actors/messages.ts';
import { TestClock } from '../actors/clock.ts';
import { spec } from '../test/helpers/specs.ts';
import type { GateView } from './broker-actor.ts';
import { ACTIVE_ENTRY, type KillLevels } from './kill/levels.ts';
import { OrderBook } from './order-book.ts';
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
