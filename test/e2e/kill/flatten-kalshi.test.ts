import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, fixture } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { requestParsed } from '../../../actors/bus.ts';
import { subjects } from '../../../actors/subjects.ts';
import { newIntentId } from '../../../actors/ids.ts';
import { IntentReplySchema, IntentSchema, type IntentReply, type Side } from '../../../actors/messages.ts';
import { KALSHI_WORST_PRICE } from '../../../broker/kill/flatten.ts';
import { startHarness, type Harness } from '../../support/kill-harness.ts';

/**
 * Kill level 4 on Kalshi, which takes limit orders only: a long (+900) and a short (-400) are
 * closed by limit orders at the worst allowed price ($0.01 to sell, $0.99 to buy), followed
 * until the exchange says flat. (A MARKET closing order, as before, was refused: both stayed open.)
 */
const LONG = 'KXFED-26DEC-T4.00';
const SHORT = 'KXFED-26DEC-T4.25';
const RISK = { maxOrderQty: 1000, maxOrderValue: 100_000_000, maxPosition: 1000, maxOpenOrders: 10, priceBandBps: 9000, ordersPerMinute: 600 };
let h: Harness;

before(async () => {
  h = await startHarness(renderRegistry([
    { id: 'klong', module: fixture('recorder'), venue: 'kalshi', instruments: [LONG], risk: RISK },
    { id: 'kshort', module: fixture('recorder'), venue: 'kalshi', instruments: [SHORT], risk: RISK },
  ], { flatten: { followMs: 1500, maxReprices: 4 } }), { kalshiFlowMs: false });
  await eventually(() => h.sys.broker.lastPrice('kalshi', LONG) && h.sys.broker.lastPrice('kalshi', SHORT), 'Kalshi prices', 20_000);
});

after(async () => {
  await h?.close();
});

const engine = () => h.sys.kalshiSim!.engine;
const exchangePosition = (ticker: string) => engine().positions.get(ticker)?.position ?? 0;

/** A market maker's resting liquidity at the touch, so a marketable order meets enough. */
function liquidity(ticker: string, side: 'bid' | 'ask', count: number): number {
  const top = engine().top(ticker)[side];
  const price = top ? top[0] : side === 'bid' ? 4000 : 6000;
  engine().place({ ticker, side, price, count, timeInForce: 'good_till_canceled' }, 'mm');
  return price;
}

async function trade(strategyId: string, symbol: string, side: Side, qty: number, limitPrice: number): Promise<IntentReply> {
  const intentId = newIntentId();
  return eventually(async () => {
    const r = await requestParsed(h.nc, subjects.intent(strategyId), IntentSchema, {
      action: 'place', intentId, strategyId, ts: Date.now(), venue: 'kalshi', symbol, side, qty, orderType: 'LIMIT', limitPrice,
    }, IntentReplySchema, 5_000);
    return r.status === 'accepted' || (r.status === 'denied' && r.rule !== 'not_reconciled' && r.rule !== 'no_reference_price') ? r : undefined;
  }, `${strategyId}'s order decided`, 20_000);
}

test('level 4 closes a Kalshi long and short with limit orders at the worst allowed price, followed to flat', async () => {
  const ask = liquidity(LONG, 'ask', 2000);
  const bid = liquidity(SHORT, 'bid', 2000);
  assert.equal((await trade('klong', LONG, 'BUY', 900, ask)).status, 'accepted');
  assert.equal((await trade('kshort', SHORT, 'SELL', 400, bid)).status, 'accepted');
  await eventually(() => exchangePosition(LONG) === 900 && exchangePosition(SHORT) === -400, '+900 and -400 at the exchange', 20_000);
  await eventually(() => h.sys.broker.position('klong', LONG) === 900 && h.sys.broker.position('kshort', SHORT) === -400, 'the broker books them', 20_000);
  // Thin liquidity on the closing side: the SELL of 900 meets 300 and rests for the rest.
  liquidity(LONG, 'bid', 300);
  liquidity(SHORT, 'ask', 2000);
  const before = new Set(h.sys.kalshiSim!.orders().map((o) => o.orderId));

  const r = await h.cli('kill', ['4', '--reason', 'flatten kalshi']);
  assert.equal(r.code, 0, r.err);
  // More buyers arrive later; the rest of the long closes against them.
  await eventually(() => exchangePosition(LONG) < 900, 'the first closing order met the thin bids', 20_000);
  liquidity(LONG, 'bid', 2000);
  await eventually(() => exchangePosition(LONG) === 0 && exchangePosition(SHORT) === 0, 'flat at the exchange', 30_000);
  await h.sys.killSwitch.controller.idle();

  const closing = h.sys.kalshiSim!.orders().filter((o) => o.owner === 'user' && !before.has(o.orderId));
  assert.ok(closing.length >= 2);
  for (const o of closing) {
    const expected = o.side === 'ask' ? KALSHI_WORST_PRICE.SELL : KALSHI_WORST_PRICE.BUY;
    assert.equal(o.price, expected, `${o.ticker} ${o.side} at the worst allowed price`);
  }
  assert.ok(closing.every((o) => o.status !== 'resting'), 'nothing left resting');
  const sold = closing.filter((o) => o.ticker === LONG).reduce((n, o) => n + o.filled, 0);
  const bought = closing.filter((o) => o.ticker === SHORT).reduce((n, o) => n + o.filled, 0);
  assert.deepEqual([sold, bought], [900, 400], 'closed exactly the positions, never more');
  const report = h.sys.killSwitch.controller.lastFlatten!;
  assert.equal(report.flat, true, JSON.stringify(report));
  assert.equal(h.sys.broker.position('klong', LONG), 0);
  assert.equal(h.sys.broker.position('kshort', SHORT), 0);
});
