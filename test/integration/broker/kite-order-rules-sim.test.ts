import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { spec, eventually } from '../../support/specs.ts';
import { kiteBrokerOnSim } from '../../support/kite-broker.ts';
import { placeIntent, sendIntent, sendWhenPriced, invariantViolations } from '../../support/recovery-harness.ts';

/**
 * Kite's order rules in the broker (rule `lot_size`, rule `tick_size`) against the built-in
 * exchange's own instrument list, not a stub: NFO:NIFTY26DECFUT trades in lots of 65 on a
 * 0.10 grid. A refused intent is denied before any venue write; a whole-lot one becomes one order.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const FUT = { symbol: 'NFO:NIFTY26DECFUT', token: 28_944_130, lot: 65 } as const;
const risk = { maxOrderQty: 1_000, maxOrderValue: 1_000_000_000, maxPosition: 1_000, maxOpenOrders: 50, priceBandBps: 2_000, ordersPerMinute: 6_000 };

test('the broker denies a part lot (lot_size) and an off-grid limit (tick_size) on an NFO future before the venue; whole lots become one order each', async (t) => {
  const { nc, sim } = await kiteBrokerOnSim(t, {
    name: 'order-rules-sim-test',
    strategies: [spec('fut', { instruments: [FUT.symbol], risk })],
    log,
    before: (sim) => sim.setPrice(FUT.token, 24_500),
  });
  const intent = (over: Parameters<typeof placeIntent>[1]) => placeIntent('fut', { symbol: FUT.symbol, ...over });

  // Waits out not_reconciled on a fresh start; the rule itself needs no price.
  const partLot = await sendWhenPriced(nc, intent({ qty: 50 }));
  assert.deepEqual(partLot.status === 'denied' && { rule: partLot.rule, reason: partLot.reason, figures: partLot.figures }, {
    rule: 'lot_size',
    reason: 'NFO:NIFTY26DECFUT trades in lots of 65 units; 50 is not a whole number of lots',
    figures: { limit: 65, actual: 50 },
  }, JSON.stringify(partLot));
  const oldLot = await sendIntent(nc, intent({ qty: 75 }));
  assert.equal(oldLot.status === 'denied' && oldLot.rule, 'lot_size', `75 was NIFTY's lot before 2026; the exchange lists 65: ${JSON.stringify(oldLot)}`);

  const offGrid = await sendIntent(nc, intent({ qty: FUT.lot, orderType: 'LIMIT', limitPrice: 2_450_005 }));
  assert.deepEqual(offGrid.status === 'denied' && { rule: offGrid.rule, figures: offGrid.figures }, {
    rule: 'tick_size', figures: { limit: 10, actual: 2_450_005 },
  }, JSON.stringify(offGrid));
  assert.equal(sim.orders().length, 0, 'no denied intent reached the exchange');

  // Whole lots, at market and on the grid, once the broker has a price for the future.
  const market = await sendWhenPriced(nc, intent({ qty: FUT.lot }));
  assert.equal(market.status, 'accepted', JSON.stringify(market));
  const limit = await sendIntent(nc, intent({ qty: 2 * FUT.lot, orderType: 'LIMIT', limitPrice: 2_200_010 }));
  assert.equal(limit.status, 'accepted', JSON.stringify(limit));
  assert.equal(sim.orders().length, 2, 'one venue order per accepted intent');
  const byId = new Map(sim.orders().map((o) => [o.order_id, o]));
  const m = byId.get(market.status === 'accepted' ? market.venueOrderId ?? '' : '');
  const l = byId.get(limit.status === 'accepted' ? limit.venueOrderId ?? '' : '');
  assert.deepEqual(m && { exchange: m.exchange, symbol: m.tradingsymbol, qty: m.quantity }, { exchange: 'NFO', symbol: 'NIFTY26DECFUT', qty: FUT.lot });
  assert.deepEqual(l && { qty: l.quantity, price: l.price, status: l.status }, { qty: 2 * FUT.lot, price: 22_000.1, status: 'OPEN' });
  await eventually(() => sim.orders().find((o) => o.order_id === m!.order_id)?.status === 'COMPLETE', 'the market order fills');

  const { problems } = await invariantViolations(nc, sim);
  assert.deepEqual(problems, []);
});
