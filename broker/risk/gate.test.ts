import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Intent, PlaceIntent } from '../../actors/messages.ts';
import { TestClock } from '../../actors/clock.ts';
import { checkIntent, type GateContext, type GateTarget, type OrderWindow } from './gate.ts';
import { RiskLimitsSchema } from '../../config/risk-limits.ts';

const limits = RiskLimitsSchema.parse({ maxOrderQty: 100, maxOrderValue: 20_000_000, maxPosition: 300, maxOpenOrders: 3, priceBandBps: 200, ordersPerMinute: 5 });
const LAST = 150_000; // ₹1500.00 in paise

function ctx(over: Partial<GateContext> = {}): GateContext {
  return { limits, instruments: ['NSE:INFY', 'NSE:TCS'], position: { net: 0 }, openOrders: 0, lastPrice: LAST, ...over };
}
let n = 0;
function buy(qty: number, over: Partial<PlaceIntent> = {}): PlaceIntent {
  return { intentId: `i${++n}`, strategyId: 'mr1', ts: 1, action: 'place', venue: 'kite', symbol: 'NSE:INFY', side: 'BUY', qty, orderType: 'LIMIT', limitPrice: LAST, ...over };
}
const sell = (qty: number, over: Partial<PlaceIntent> = {}) => buy(qty, { side: 'SELL', ...over });

function check(intent: Intent, c = ctx(), window: OrderWindow = [], clock = new TestClock(), target?: GateTarget) {
  return checkIntent(intent, c, window, clock.now(), target);
}
function denial(intent: Intent, c = ctx(), target?: GateTarget) {
  const r = check(intent, c, [], new TestClock(), target).permit;
  assert.equal(r.ok, false, 'expected a denial');
  return r as Extract<typeof r, { ok: false }>;
}

test('an order inside every limit is accepted and counted in the per-minute window', () => {
  const clock = new TestClock();
  const r = check(buy(10), ctx(), [], clock);
  assert.deepEqual(r.permit, { ok: true });
  assert.deepEqual(r.window, [clock.now()]);
});

test('an order larger than the max order quantity is denied with limit and actual', () => {
  const d = denial(buy(101));
  assert.equal(d.rule, 'max_order_qty');
  assert.deepEqual([d.figures.limit, d.figures.actual], [100, 101]);
  assert.equal(check(buy(100)).permit.ok, true, 'exactly at the limit passes');
});

test('order value is qty × limit price, and qty × last price for a market order', () => {
  const c = ctx({ limits: { ...limits, maxOrderValue: 10 * LAST } });
  assert.equal(check(buy(10), c).permit.ok, true);
  const d = denial(buy(11), c);
  assert.deepEqual([d.rule, d.figures.limit, d.figures.actual], ['max_order_value', 10 * LAST, 11 * LAST]);
  const m = denial(buy(11, { orderType: 'MARKET', limitPrice: undefined }), c);
  assert.deepEqual([m.rule, m.figures.actual, m.figures.price], ['max_order_value', 11 * LAST, LAST]);
});

test('Kalshi order value counts hundredths of a contract, not whole contracts', () => {
  const c = ctx({ instruments: ['KXBTC-25'], lastPrice: 5_000, limits: { ...limits, maxOrderQty: 100_000, maxPosition: 100_000, maxOrderValue: 250_000 } });
  const kalshi = (qty: number) => buy(qty, { venue: 'kalshi', symbol: 'KXBTC-25', limitPrice: 5_000 });
  assert.equal(check(kalshi(5_000), c).permit.ok, true, '50 contracts at 50¢ = 250000 hundredths of a cent');
  assert.equal(denial(kalshi(5_001), c).rule, 'max_order_value');
});

test('the max position is checked against the worst case after the fill, open orders included', () => {
  assert.equal(check(buy(50), ctx({ position: { net: 250 } })).permit.ok, true);
  const d = denial(buy(51), ctx({ position: { net: 250 } }));
  assert.deepEqual([d.rule, d.figures.limit, d.figures.actual], ['max_position', 300, 301]);
  const withOpen = denial(buy(10), ctx({ position: { net: 250, openBuyQty: 45 } }));
  assert.deepEqual([withOpen.rule, withOpen.figures.actual], ['max_position', 305]);
  const short = denial(sell(60), ctx({ position: { net: -250 } }));
  assert.deepEqual([short.rule, short.figures.actual], ['max_position', 310]);
});

test('a position over a lowered limit can still be worked down, but not flipped past it', () => {
  assert.equal(check(sell(50), ctx({ position: { net: 400 } })).permit.ok, true);
  const c = ctx({ position: { net: 10 }, limits: { ...limits, maxOrderQty: 1_000, maxOrderValue: 1e12 } });
  assert.equal(denial(sell(400), c).rule, 'max_position');
});

test('a new order beyond the max open orders is denied; a modify of an open order is not', () => {
  const d = denial(buy(1), ctx({ openOrders: 3 }));
  assert.deepEqual([d.rule, d.figures.limit, d.figures.actual], ['max_open_orders', 3, 4]);
  const target: GateTarget = { symbol: 'NSE:INFY', venue: 'kite', side: 'BUY', qty: 5, orderType: 'LIMIT', limitPrice: LAST };
  const mod: Intent = { intentId: 'm1', strategyId: 'mr1', ts: 1, action: 'modify', targetIntentId: 'i1', qty: 6 };
  assert.equal(check(mod, ctx({ openOrders: 3, position: { net: 0, openBuyQty: 5 } }), [], new TestClock(), target).permit.ok, true);
});

test('an instrument outside the allowed list is denied; the declared instruments apply when the list is empty', () => {
  assert.equal(denial(buy(1, { symbol: 'NSE:SBIN' })).rule, 'instrument_not_allowed');
  const c = ctx({ limits: { ...limits, allowedInstruments: ['NSE:SBIN'] } });
  assert.equal(check(buy(1, { symbol: 'NSE:SBIN' }), c).permit.ok, true);
  assert.equal(denial(buy(1), c).rule, 'instrument_not_allowed', 'an explicit list replaces the declared instruments');
});

test('a limit price outside the band around the last price is denied in basis points', () => {
  assert.equal(check(buy(1, { limitPrice: LAST + 3_000 })).permit.ok, true, 'exactly 200 bps passes');
  const d = denial(buy(1, { limitPrice: LAST + 3_015 }));
  assert.deepEqual([d.rule, d.figures.limit, d.figures.actual, d.figures.lastPrice], ['price_band', 200, 201, LAST]);
  assert.equal(denial(sell(1, { limitPrice: LAST - 4_500 })).figures.actual, 300);
});

test('without a last price nothing can be valued or banded, so the order is denied', () => {
  assert.equal(denial(buy(1), ctx({ lastPrice: undefined })).rule, 'no_reference_price');
  assert.equal(denial(buy(1, { orderType: 'LIMIT', limitPrice: undefined })).rule, 'missing_limit_price');
});

test('the sixth order inside a minute is denied and passes again once the oldest leaves the window', async () => {
  const clock = new TestClock();
  let window: OrderWindow = [];
  for (let i = 0; i < 5; i++) {
    const r = check(buy(1), ctx(), window, clock);
    assert.equal(r.permit.ok, true, `order ${i + 1}`);
    window = r.window;
    await clock.advance(10_000);
  }
  // t = 50 s: five orders at 0..40 s
  const denied = check(buy(1), ctx(), window, clock);
  assert.equal(denied.permit.ok, false);
  if (!denied.permit.ok) assert.deepEqual([denied.permit.rule, denied.permit.figures.limit, denied.permit.figures.actual, denied.permit.figures.retryAfterMs], ['orders_per_minute', 5, 6, 10_000]);
  assert.equal(denied.window.length, 5, 'a denied order is not counted');
  await clock.advance(10_000);
  assert.equal(check(buy(1), ctx(), denied.window, clock).permit.ok, true, 'at 60 s the first order has left the window');
});

test('cancels always pass and never use up the order rate', () => {
  const clock = new TestClock();
  const window = [clock.now(), clock.now(), clock.now(), clock.now(), clock.now()];
  const r = check({ intentId: 'c1', strategyId: 'mr1', ts: 1, action: 'cancel', targetIntentId: 'i1' }, ctx({ openOrders: 99, lastPrice: undefined }), window, clock);
  assert.deepEqual(r.permit, { ok: true });
  assert.equal(r.window.length, 5);
});

test('a modify is checked at its new size and price, counting its own quantity once', () => {
  const target: GateTarget = { symbol: 'NSE:INFY', venue: 'kite', side: 'BUY', qty: 50, orderType: 'LIMIT', limitPrice: LAST };
  const c = ctx({ position: { net: 200, openBuyQty: 50 } });
  const mod = (over: { qty?: number; limitPrice?: number }): Intent => ({ intentId: 'm', strategyId: 'mr1', ts: 1, action: 'modify', targetIntentId: 't', ...over });
  assert.equal(check(mod({ qty: 100 }), c, [], new TestClock(), target).permit.ok, true, '200 + 100 = 300, at the limit');
  assert.equal(denial(mod({ qty: 101 }), c, target).rule, 'max_order_qty');
  assert.equal(denial(mod({ limitPrice: LAST * 2 }), c, target).rule, 'price_band');
  assert.equal(denial(mod({ qty: 10 }), c, undefined).rule, 'unknown_order');
});

test('a reduce-only claim that would add to the position is denied', () => {
  assert.equal(check(sell(10, { reduceOnly: true }), ctx({ position: { net: 10 } })).permit.ok, true);
  assert.equal(denial(sell(11, { reduceOnly: true }), ctx({ position: { net: 10 } })).rule, 'reduce_only');
  assert.equal(denial(buy(1, { reduceOnly: true })).rule, 'reduce_only');
});
