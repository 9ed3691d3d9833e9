/** Market protection on the built-in Kite exchange, as Kite has required it since 1 April 2026 (docs/venues/kite.md). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KiteConnect } from 'kiteconnect';
import type { KiteSim } from '../../../exchanges/kite/index.ts';
import { startTestSim } from './helpers.ts';

const SBIN = 779521;
const NO_PROTECTION = 'Market orders without market protection are not allowed via API. Please set market protection or use a Limit order.';

function client(sim: KiteSim): any {
  return new KiteConnect({ api_key: sim.credentials.apiKey, access_token: sim.issueAccessToken(), root: sim.restUrl });
}
const order = (over: Record<string, unknown> = {}) => ({ exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: 'BUY', quantity: 1, product: 'MIS', order_type: 'MARKET', ...over });

test('a MARKET or SL-M order without market protection, with 0, or with a non-decimal is refused (400 InputException) and no order exists', async () => {
  const { sim } = await startTestSim({ enforceRateLimits: false });
  try {
    const kc = client(sim);
    const refusal = async (params: Record<string, unknown>) => {
      const e = await kc.placeOrder('regular', order(params)).then(() => undefined, (err: any) => err);
      assert.ok(e, `refused: ${JSON.stringify(params)}`);
      assert.equal(e.error_type, 'InputException');
      assert.equal(e.status_code ?? 400, 400);
      return e.message as string;
    };
    assert.equal(await refusal({}), NO_PROTECTION);
    assert.equal(await refusal({ market_protection: 0 }), NO_PROTECTION);
    assert.equal(await refusal({ order_type: 'SL-M', trigger_price: 900 }), NO_PROTECTION);
    assert.match(await refusal({ market_protection: 'auto' }), /failed to decode market_protection.*expected decimal/);
    assert.match(await refusal({ market_protection: 101 }), /market_protection/);
    assert.equal(sim.orders().length, 0, 'nothing was placed');
    // A limit order needs none; -1 and a percentage are both protection.
    await kc.placeOrder('regular', order({ order_type: 'LIMIT', price: 1 }));
    await kc.placeOrder('regular', order({ market_protection: -1 }));
    await kc.placeOrder('regular', order({ market_protection: 2.5 }));
    assert.deepEqual(sim.orders().map((o) => o.market_protection), [0, -1, 2.5]);
  } finally {
    await sim.close();
  }
});

test('a protected MARKET order that would cross beyond its band rests as a limit at the band edge, partly filled, and fills once the market is back inside', async () => {
  const { sim } = await startTestSim({ enforceRateLimits: false });
  try {
    const kc = client(sim);
    sim.setPrice(SBIN, 800);
    sim.faults.thinBook(2); // five levels of two shares each: 10 within any band
    const { order_id } = await kc.placeOrder('regular', order({ transaction_type: 'SELL', quantity: 20, market_protection: 1 }));
    let o = (await kc.getOrderHistory(order_id)).at(-1);
    assert.equal(o.status, 'OPEN', 'not rejected: it rests');
    assert.equal(o.price, 792, '1% below 800, the band edge');
    assert.deepEqual([o.filled_quantity, o.pending_quantity], [10, 10]);
    // The market falls through the band: the order stays at its edge, nothing more fills.
    sim.faults.thinBook(undefined);
    sim.setPrice(SBIN, 780);
    o = (await kc.getOrderHistory(order_id)).at(-1);
    assert.deepEqual([o.status, o.filled_quantity, o.price], ['OPEN', 10, 792]);
    // Back inside the band: the rest fills.
    sim.setPrice(SBIN, 795);
    o = (await kc.getOrderHistory(order_id)).at(-1);
    assert.deepEqual([o.status, o.filled_quantity], ['COMPLETE', 20]);
    const position = (await kc.getPositions()).net.find((p: any) => p.tradingsymbol === 'SBIN');
    assert.equal(position.quantity, -20);
  } finally {
    await sim.close();
  }
});

test('with the book empty within the band a protected order does not fill at all; the automatic band (-1) is used for -1', async () => {
  const { sim } = await startTestSim({ enforceRateLimits: false });
  try {
    const kc = client(sim);
    sim.setPrice(SBIN, 800);
    sim.faults.thinBook(0);
    const { order_id } = await kc.placeOrder('regular', order({ quantity: 5, market_protection: -1 }));
    const o = (await kc.getOrderHistory(order_id)).at(-1);
    assert.deepEqual([o.status, o.filled_quantity, o.price], ['OPEN', 0, 816], 'the simulator\'s automatic band is 2%');
  } finally {
    await sim.close();
  }
});

test('modify: a LIMIT order made MARKET must bring market protection; a MARKET order keeps its own', async () => {
  const { sim } = await startTestSim({ enforceRateLimits: false });
  try {
    const kc = client(sim);
    sim.setPrice(SBIN, 800);
    const { order_id: limit } = await kc.placeOrder('regular', order({ order_type: 'LIMIT', price: 700 }));
    const e = await kc.modifyOrder('regular', limit, { order_type: 'MARKET' }).then(() => undefined, (err: any) => err);
    assert.equal(e?.message, NO_PROTECTION);
    assert.equal((await kc.getOrderHistory(limit)).at(-1).order_type, 'LIMIT', 'unchanged');
    await kc.modifyOrder('regular', limit, { order_type: 'MARKET', market_protection: 3 });
    const done = (await kc.getOrderHistory(limit)).at(-1);
    assert.deepEqual([done.status, done.market_protection], ['COMPLETE', 3]);

    sim.faults.thinBook(0);
    const { order_id: market } = await kc.placeOrder('regular', order({ quantity: 4, market_protection: 1 }));
    await kc.modifyOrder('regular', market, { quantity: 3 });
    const resting = (await kc.getOrderHistory(market)).at(-1);
    assert.deepEqual([resting.status, resting.quantity, resting.market_protection], ['OPEN', 3, 1]);
  } finally {
    await sim.close();
  }
});
