import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../../actors/clock.ts';
import { startKalshiSim, type FieldSet } from '../../../exchanges/kalshi/index.ts';
import { takerFeeMicros } from '../../../exchanges/kalshi/engine.ts';
import { KalshiVenue } from '../../../broker/kalshi/index.ts';
import { FillsPage, OrderOne, PositionsPage } from '../../../broker/kalshi/schemas.ts';
import { ServerMessage } from '../../../broker/kalshi/ws-protocol.ts';
import type { FillUpdate } from '../../../broker/kalshi/ws-client.ts';
import { captureLogger, eventually } from '../../support/kalshi-helpers.ts';
import { FakeLimiter } from '../../support/fake-limiter.ts';

/**
 * Kalshi's current fields (docs/venues/kalshi.md, "Order direction" and "Fixed point"): fills
 * and trades say their direction with outcome_side / book_side / taker_book_side, the old
 * side / action / taker_side are deprecated; money comes with up to 6 decimals.
 */
const wsFill = (dir: Record<string, string>) => ({
  type: 'fill', sid: 3,
  msg: { trade_id: 't1', order_id: 'o1', market_ticker: 'KXFED-26DEC-T4.00', is_taker: true, yes_price_dollars: '0.4500', count_fp: '2.00', fee_cost: '0.005612', ts_ms: 1, ...dir },
});

test('a fill that says its direction only with outcome_side / book_side is read, not dropped', () => {
  for (const dir of [{ book_side: 'ask' }, { outcome_side: 'no' }, { book_side: 'ask', outcome_side: 'no' }] as Record<string, string>[]) {
    const m = ServerMessage.parse(wsFill(dir));
    assert.equal(m.type === 'fill' && m.msg.bookSide, 'ask', JSON.stringify(dir));
    assert.equal(m.type === 'fill' && m.msg.fee_cost, 5612, 'fee_cost "0.005612" is 5612 micro-dollars, exactly');
  }
});

test('the deprecated side + action are still read when they are all a fill has; the new fields win when both are there', () => {
  const legacy = ServerMessage.parse(wsFill({ side: 'no', action: 'buy' }));
  assert.equal(legacy.type === 'fill' && legacy.msg.bookSide, 'ask', 'buy NO = ask');
  const sellNo = ServerMessage.parse(wsFill({ side: 'no', action: 'sell' }));
  assert.equal(sellNo.type === 'fill' && sellNo.msg.bookSide, 'bid', 'sell NO = bid');
  const both = ServerMessage.parse(wsFill({ book_side: 'bid', side: 'no', action: 'buy' }));
  assert.equal(both.type === 'fill' && both.msg.bookSide, 'bid');
});

test('a user_order push reads book_side / outcome_side, and the deprecated side or is_yes when they are all it has; none at all is refused', () => {
  const push = (dir: Record<string, unknown>) => ServerMessage.safeParse({
    type: 'user_order', sid: 4,
    msg: {
      order_id: 'o1', user_id: 'u', ticker: 'M', exchange_index: 0, status: 'resting', yes_price_dollars: '0.3500', fill_count_fp: '1.00',
      remaining_count_fp: '9.00', initial_count_fp: '10.00', client_order_id: 'c1', last_update_reason: 'Decrease', last_updated_ts_ms: 7, ...dir,
    },
  });
  for (const [dir, want] of [[{ book_side: 'ask' }, 'ask'], [{ outcome_side: 'yes' }, 'bid'], [{ side: 'no' }, 'ask'], [{ is_yes: true }, 'bid']] as const) {
    const r = push(dir);
    assert.equal(r.success && r.data.type === 'user_order' && r.data.msg.side, want, JSON.stringify(dir));
  }
  const r = push({ book_side: 'bid' });
  assert.deepEqual(r.success && r.data.type === 'user_order' && r.data.msg, {
    orderId: 'o1', clientOrderId: 'c1', ticker: 'M', side: 'bid', status: 'resting', price: 3500, filledCount: 100, remainingCount: 900, initialCount: 1000, reason: 'Decrease', tsMs: 7,
  });
  const none = push({});
  assert.equal(none.success, false);
  assert.match(JSON.stringify(none.error?.issues), /book_side/);
});

test('a fill with no direction at all is refused with the field named, never guessed', () => {
  const r = ServerMessage.safeParse(wsFill({}));
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /book_side/);
});

test('a trade reads taker_book_side / taker_outcome_side, and taker_side alone', () => {
  const trade = (dir: Record<string, string>) => ServerMessage.parse({
    type: 'trade', sid: 2, seq: 5, msg: { trade_id: 'x', market_ticker: 'M', yes_price_dollars: '0.3600', count_fp: '1.00', ts_ms: 1, ...dir },
  });
  for (const [dir, want] of [[{ taker_book_side: 'ask' }, 'no'], [{ taker_outcome_side: 'yes' }, 'yes'], [{ taker_side: 'no' }, 'no']] as const) {
    const m = trade(dir);
    assert.equal(m.type === 'trade' && m.msg.takerSide, want, JSON.stringify(dir));
  }
});

test('a fills page with 6-decimal fees parses whole, each fee exact in micro-dollars', () => {
  const fill = (id: string, fee: string) => ({
    fill_id: id, trade_id: id, order_id: 'o', ticker: 'M', market_ticker: 'M', book_side: 'bid', outcome_side: 'yes',
    count_fp: '1.00', yes_price_dollars: '0.560000', is_taker: true, fee_cost: fee, created_time: '2026-12-03T09:00:00Z',
  });
  const page = FillsPage.parse({ fills: [fill('a', '0.010000'), fill('b', '0.005612'), fill('c', '0.0000')], cursor: '' });
  assert.deepEqual(page.fills.map((f) => [f.feeMicros, f.price, f.side]), [[10_000, 5600, 'bid'], [5612, 5600, 'bid'], [0, 5600, 'bid']]);
});

test('positions with 6-decimal exposure, P&L and fees parse exactly (a page is never dropped for a 5th digit)', () => {
  const page = PositionsPage.parse({
    market_positions: [{ ticker: 'M', position_fp: '3.00', market_exposure_dollars: '1.683612', realized_pnl_dollars: '-0.000001', fees_paid_dollars: '0.021836', total_traded_dollars: '1.683612' }],
    cursor: '',
  });
  assert.deepEqual(page.market_positions[0], { ticker: 'M', position: 300, exposureMicros: 1_683_612, realizedPnlMicros: -1, feesPaidMicros: 21_836 });
});

test('an order with only outcome_side / book_side reads its direction', () => {
  const o = OrderOne.parse({ order: {
    order_id: 'o', client_order_id: 'c', ticker: 'M', outcome_side: 'no', book_side: 'ask', status: 'resting',
    yes_price_dollars: '0.5500', fill_count_fp: '0.00', remaining_count_fp: '1.00', initial_count_fp: '1.00',
  } });
  assert.equal(o.order.side, 'ask');
});

for (const fields of ['current', 'legacy'] as FieldSet[]) {
  test(`fills pushed by an exchange sending ${fields === 'current' ? 'only the new fields' : 'only the deprecated fields'} reach the client with the right side${fields === 'current' ? ' and the exact fee' : ''}`, async () => {
    const clock = new TestClock(Date.now());
    const sim = await startKalshiSim({ clock, seed: 5, fields });
    const { logger } = captureLogger();
    const venue = new KalshiVenue({
      restUrl: sim.restUrl, wsUrl: sim.wsUrl, keyId: sim.keyId, privateKey: { path: sim.privateKeyPath },
      limiter: new FakeLimiter(clock), logger, clock, random: () => 0, lookupDelayMs: 0,
    });
    try {
      const fills: FillUpdate[] = [];
      venue.on('fill', (f) => fills.push(f));
      await venue.connect();
      const t = sim.markets[0]!;
      const top = sim.engine.top(t);
      await venue.placeOrder({ ticker: t, side: 'bid', price: top.ask![0], count: 100, clientOrderId: `buy-${fields}` });
      await venue.placeOrder({ ticker: t, side: 'ask', price: top.bid![0], count: 100, clientOrderId: `sell-${fields}` });
      await eventually(() => fills.length === 2, 'two fills');
      assert.deepEqual(fills.map((f) => [f.clientOrderId, f.side]), [[`buy-${fields}`, 'bid'], [`sell-${fields}`, 'ask']]);
      if (fields === 'current') {
        assert.deepEqual(fills.map((f) => f.feeMicros), [takerFeeMicros(top.ask![0], 100), takerFeeMicros(top.bid![0], 100)]);
      }
      const rest = await venue.getFills({ ticker: t });
      assert.deepEqual(rest.map((f) => f.side).sort(), ['ask', 'bid']);
    } finally {
      await venue.close();
      await sim.close();
    }
  });
}
