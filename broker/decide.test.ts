import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CancelIntent, ModifyIntent, PlaceIntent } from '../actors/messages.ts';
import { spec } from '../test/support/specs.ts';
import { decide, RULES, type DecisionView, type DenialRule } from './decide.ts';
import { ACTIVE_ENTRY, type KillLevels } from './kill/levels.ts';
import { OrderBook, type OrderRecord } from './order-book.ts';

const LAST = 150_000;
const strategy = spec('s1', { instruments: ['NSE:INFY', 'NSE:TCS'], risk: { maxOrderQty: 10, maxOrderValue: 100_000_000, maxPosition: 20, maxOpenOrders: 50, priceBandBps: 500, ordersPerMinute: 600 } });
const ACTIVE: KillLevels = { global: ACTIVE_ENTRY, strategies: {} };
let n = 0;
const place = (side: 'BUY' | 'SELL', qty: number, over: Partial<PlaceIntent> = {}): PlaceIntent => ({
  action: 'place', intentId: `g${++n}`, strategyId: 's1', ts: 0, venue: 'kite', symbol: 'NSE:INFY', side, qty, orderType: 'LIMIT', limitPrice: LAST, ...over,
});
const modify = (target: OrderRecord, change: { qty?: number; limitPrice?: number }): ModifyIntent => ({ action: 'modify', intentId: `m${++n}`, strategyId: 's1', ts: 0, targetIntentId: target.intentId, ...change });
const cancel = (target: OrderRecord): CancelIntent => ({ action: 'cancel', intentId: `c${++n}`, strategyId: 's1', ts: 0, targetIntentId: target.intentId });

/** A view in which every rule passes: the table rows each break one thing. */
function view(book: OrderBook, over: Partial<DecisionView> = {}, net = 0): DecisionView {
  return {
    now: 0, strategy, target: undefined, fenced: undefined, kill: { levels: ACTIVE, mustRestart: false },
    venue: { venue: 'kite', connected: true, reconciled: true, canModify: true },
    position: (s) => (s === 'NSE:INFY' ? net : 0), openOrders: book.open('s1'), lastPrice: () => LAST,
    recentPlaces: [], modifyPending: false, rateWaitMs: () => 0, maxRateWaitMs: 5_000,
    ...over,
  };
}

/** A resting order of s1 with its venue id, as the book has it once the venue answered. */
function resting(book: OrderBook, side: 'BUY' | 'SELL', qty: number, over: Partial<OrderRecord> = {}): OrderRecord {
  const rec = book.register(place(side, qty), 0);
  Object.assign(rec, { state: 'open', venueOrderId: `v${n}`, orderType: 'LIMIT' }, over);
  return rec;
}

const ruleOf = (d: ReturnType<typeof decide>): DenialRule | 'ok' => (d.ok ? 'ok' : d.rule);

test('decide: each rule refuses a place on its own, named by its rule', () => {
  const book = new OrderBook();
  const halted: KillLevels = { global: ACTIVE_ENTRY, strategies: { s1: { ...ACTIVE_ENTRY, level: 1, revision: 1 } } };
  const rows: [string, PlaceIntent, Partial<DecisionView>, DenialRule | 'ok'][] = [
    ['all clear', place('BUY', 1), {}, 'ok'],
    ['a strategy the registry does not have', place('BUY', 1), { strategy: undefined }, 'unknown_strategy'],
    ['a venue this broker does not run', place('BUY', 1), { venue: undefined }, 'unknown_venue'],
    ['another venue than the strategy trades on', place('BUY', 1, { venue: 'kalshi' }), {}, 'wrong_venue'],
    ['a broker that lost its lease', place('BUY', 1), { fenced: 'lease lost' }, 'not_leader'],
    ['a disconnected venue', place('BUY', 1), { venue: { venue: 'kite', connected: false, reconciled: true, canModify: true } }, 'broker_disconnected'],
    ['a venue not reconciled since start', place('BUY', 1), { venue: { venue: 'kite', connected: true, reconciled: false, canModify: true } }, 'not_reconciled'],
    ['a LIMIT order without a price', place('BUY', 1, { limitPrice: undefined }), {}, 'invalid_order'],
    ['a part lot (the venue\'s own rule)', place('BUY', 1), { venue: { venue: 'kite', connected: true, reconciled: true, canModify: true, checkOrder: () => ({ rule: 'lot_size', reason: 'lots of 50', figures: { limit: 50, actual: 1 } }) } }, 'lot_size'],
    ['a halted strategy', place('BUY', 1), { kill: { levels: halted, mustRestart: false } }, 'kill_level'],
    ['a process that must restart after a level 4', place('BUY', 1), { kill: { levels: ACTIVE, mustRestart: true } }, 'restart_required'],
    ['over maxOrderQty', place('BUY', 11), {}, 'max_order_qty'],
    ['no price yet to judge the band by', place('BUY', 1), { lastPrice: () => undefined }, 'no_reference_price'],
    ['the orders-per-minute window full', place('BUY', 1), { strategy: { ...strategy, risk: { ...strategy.risk, ordersPerMinute: 2 } }, recentPlaces: [0, 0] }, 'orders_per_minute'],
    ['a rate-limit wait past the bound', place('BUY', 1), { rateWaitMs: () => 5_001 }, 'rate_limited'],
    ['a rate-limit wait past what the limiter looks ahead', place('BUY', 1), { rateWaitMs: () => Infinity }, 'rate_limited'],
  ];
  for (const [what, intent, over, rule] of rows) assert.equal(ruleOf(decide(intent, view(book, over))), rule, what);
});

test('decide: the rules are judged in their listed order, the first refusal wins', () => {
  const book = new OrderBook();
  const everythingWrong = view(book, {
    fenced: 'lease lost', venue: { venue: 'kite', connected: false, reconciled: false, canModify: true },
    kill: { levels: ACTIVE, mustRestart: true }, rateWaitMs: () => Infinity,
  });
  assert.equal(ruleOf(decide(place('BUY', 99), everythingWrong)), 'not_leader');
  assert.equal(ruleOf(decide(place('BUY', 99), { ...everythingWrong, fenced: undefined })), 'broker_disconnected');
  // The kill level before the limits: a halted strategy over its limit hears about the halt.
  assert.equal(ruleOf(decide(place('BUY', 99), view(book, { kill: { levels: ACTIVE, mustRestart: true } }))), 'restart_required');
  // The limits before the rate wait: a refused order never asks the limiter.
  let asked = 0;
  assert.equal(ruleOf(decide(place('BUY', 99), view(book, { rateWaitMs: () => (asked++, 0) }))), 'max_order_qty');
  assert.equal(asked, 0);
  assert.equal(RULES.length, 15, 'a new rule goes into the list (and into this file)');
});

test('decide: a modify meets the order rules at its new shape, a cancel only needs its order live', () => {
  const book = new OrderBook();
  const rec = resting(book, 'BUY', 5);
  const other = spec('s2').id;
  const rows: [string, ModifyIntent | CancelIntent, Partial<DecisionView>, DenialRule | 'ok'][] = [
    ['a modify re-pricing inside the band', modify(rec, { limitPrice: LAST + 500 }), { target: rec }, 'ok'],
    ['a modify of an order the book does not have', modify(rec, { qty: 6 }), { target: undefined }, 'unknown_order'],
    ['a modify of another strategy\'s order', modify(rec, { qty: 6 }), { target: { ...rec, strategyId: other } }, 'unknown_order'],
    ['a modify of a filled order', modify(rec, { qty: 6 }), { target: { ...rec, state: 'filled' } }, 'order_closed'],
    ['a modify before the venue answered the place', modify(rec, { qty: 6 }), { target: { ...rec, venueOrderId: undefined } }, 'order_pending'],
    ['a modify on a venue that cannot', modify(rec, { qty: 6 }), { target: rec, venue: { venue: 'kite', connected: true, reconciled: true, canModify: false } }, 'unsupported'],
    ['a modify that changes nothing', modify(rec, { qty: 5 }), { target: rec }, 'no_change'],
    ['a modify with neither qty nor price', modify(rec, {}), { target: rec }, 'invalid_order'],
    ['a modify down to what has filled', modify(rec, { qty: 2 }), { target: { ...rec, filledQty: 2, state: 'partially_filled' } }, 'invalid_order'],
    ['a price on a MARKET order', modify(rec, { limitPrice: LAST }), { target: { ...rec, orderType: 'MARKET' } }, 'invalid_order'],
    ['a second modify while one is on its way', modify(rec, { qty: 6 }), { target: rec, modifyPending: true }, 'modify_pending'],
    ['a 26th modify where the venue takes 25 per order', modify(rec, { qty: 6 }), { target: { ...rec, modifies: 25 }, venue: { venue: 'kite', connected: true, reconciled: true, canModify: true, maxModificationsPerOrder: 25 } }, 'max_modifications'],
    ['a 25th modify there', modify(rec, { qty: 6 }), { target: { ...rec, modifies: 24 }, venue: { venue: 'kite', connected: true, reconciled: true, canModify: true, maxModificationsPerOrder: 25 } }, 'ok'],
    ['a modify past the rate-limit bound', modify(rec, { qty: 6 }), { target: rec, rateWaitMs: () => 6_000 }, 'rate_limited'],
    ['a cancel of a live order', cancel(rec), { target: rec }, 'ok'],
    ['a cancel of an unknown order', cancel(rec), { target: undefined }, 'unknown_order'],
    ['a cancel of a cancelled order', cancel(rec), { target: { ...rec, state: 'cancelled' } }, 'order_closed'],
    ['a cancel at kill level 3: the broker cancels itself, a cancel is not judged by the level', cancel(rec), { target: rec, kill: { levels: { global: { ...ACTIVE_ENTRY, level: 3, revision: 1 }, strategies: {} }, mustRestart: false } }, 'ok'],
  ];
  for (const [what, intent, over, rule] of rows) assert.equal(ruleOf(decide(intent, view(book, over))), rule, what);
});

test('maxPosition counts the open orders on the same side: six resting BUYs of 5 stop at 20', () => {
  const book = new OrderBook();
  const answers: string[] = [];
  for (let i = 0; i < 6; i++) {
    const it = place('BUY', 5);
    const d = decide(it, view(book));
    answers.push(ruleOf(d));
    if (d.ok) book.register(it, 0); // accepted and resting, nothing filled
  }
  assert.deepEqual(answers, ['ok', 'ok', 'ok', 'ok', 'max_position', 'max_position']);
});

test('maxPosition counts only what an open order still wants, on its own instrument', () => {
  const book = new OrderBook();
  const partly = book.register(place('BUY', 10), 0);
  partly.state = 'partially_filled';
  partly.filledQty = 6; // position 6 (below), 4 still to come
  book.register(place('BUY', 10, { symbol: 'NSE:TCS' }), 0);
  const ten = place('BUY', 10);
  assert.equal(ruleOf(decide(ten, view(book, {}, 6))), 'ok', '6 + 4 + 10 = 20, at the limit');
  book.register(ten, 0);
  assert.equal(ruleOf(decide(place('BUY', 1), view(book, {}, 6))), 'max_position');
  assert.equal(ruleOf(decide(place('SELL', 10), view(book, {}, 6))), 'ok', 'the other side takes exposure off');
});

test('kill level 2 (reduce only) counts open orders: two SELLs that each fit a long position cannot flip it short', () => {
  const book = new OrderBook();
  const kill = { levels: { global: { ...ACTIVE_ENTRY, level: 2 as const, revision: 1 }, strategies: {} }, mustRestart: false };
  const first = place('SELL', 6);
  assert.equal(ruleOf(decide(first, view(book, { kill }, 10))), 'ok');
  book.register(first, 0);
  assert.equal(ruleOf(decide(place('SELL', 6), view(book, { kill }, 10))), 'kill_level');
  assert.equal(ruleOf(decide(place('SELL', 4), view(book, { kill }, 10))), 'ok', 'what is left of the position may still be sold');
});

test('a modify is judged at its new size and price: maxOrderQty, maxOrderValue, price band and maxPosition with the open orders', () => {
  const book = new OrderBook();
  const rec = resting(book, 'BUY', 5);
  resting(book, 'BUY', 8); // 13 wanted on the BUY side
  const rule = (change: { qty?: number; limitPrice?: number }, net = 0, over: Partial<DecisionView> = {}) => ruleOf(decide(modify(rec, change), view(book, { target: rec, ...over }, net)));
  assert.equal(rule({ limitPrice: LAST + 500 }), 'ok', 're-priced inside the band');
  assert.equal(rule({ qty: 11 }), 'max_order_qty');
  assert.equal(rule({ limitPrice: LAST * 2 }), 'price_band');
  assert.equal(rule({ qty: 10 }), 'ok', '8 + 10 = 18 within maxPosition 20: its own 5 counted once, at its new size');
  assert.equal(rule({ qty: 10 }, 3), 'max_position', '3 held + 8 + 10 = 21');
  assert.equal(rule({ qty: 10 }, 0, { strategy: { ...strategy, risk: { ...strategy.risk, maxOrderValue: 10 * LAST - 1 } } }), 'max_order_value');
});

test('a modify is not a new order: it passes at maxOpenOrders and a full orders-per-minute window', () => {
  const book = new OrderBook();
  const limited = { strategy: { ...strategy, risk: { ...strategy.risk, maxOpenOrders: 1, ordersPerMinute: 1 } }, recentPlaces: [0] };
  const rec = resting(book, 'BUY', 2);
  for (let i = 0; i < 5; i++) assert.equal(ruleOf(decide(modify(rec, { limitPrice: LAST - 100 * (i + 1) }), view(book, { ...limited, target: rec }))), 'ok', `modify ${i + 1}`);
  assert.equal(ruleOf(decide(place('BUY', 1), view(book, limited))), 'max_open_orders', 'a second order is still refused');
  rec.state = 'cancelled';
  assert.equal(ruleOf(decide(place('BUY', 1), view(book, limited))), 'orders_per_minute', 'one place in the minute, as before');
});

test('the kill level decides a modify first: level 1 and 3 refuse it, level 2 only when the order reduces and does not grow', () => {
  const book = new OrderBook();
  const sell = resting(book, 'SELL', 6);
  const buy = resting(book, 'BUY', 2);
  const at = (scope: 'global' | 'strategy', level: 0 | 1 | 2 | 3): DecisionView['kill'] => ({
    levels: scope === 'global' ? { global: { ...ACTIVE_ENTRY, level, revision: 1 }, strategies: {} } : { global: ACTIVE_ENTRY, strategies: { s1: { ...ACTIVE_ENTRY, level, revision: 1 } } },
    mustRestart: false,
  });
  const rule = (kill: DecisionView['kill'], rec: OrderRecord, change: { qty?: number; limitPrice?: number }) => ruleOf(decide(modify(rec, change), view(book, { kill, target: rec }, 10)));
  assert.equal(rule(at('strategy', 1), sell, { limitPrice: LAST - 100 }), 'kill_level');
  assert.equal(rule(at('global', 3), sell, { limitPrice: LAST - 100 }), 'kill_level');
  assert.equal(rule(at('global', 2), sell, { limitPrice: LAST - 100 }), 'ok', 're-pricing a SELL that reduces a long');
  assert.equal(rule(at('global', 2), sell, { qty: 4 }), 'ok', 'shrinking it');
  assert.equal(rule(at('global', 2), sell, { qty: 7 }), 'kill_level', 'growing it');
  assert.equal(rule(at('global', 2), buy, { limitPrice: LAST + 100 }), 'kill_level', 'a BUY that adds to the long');
});
