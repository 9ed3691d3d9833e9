import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CostsSchema, DEFAULT_COSTS, kalshiFillFee, kiteFillCharges } from './costs.ts';

test('Kite charges follow the published intraday schedule, exactly in paise', () => {
  // 100 INFY at ₹1,500: turnover ₹1.5 lakh = 1.5e7 paise.
  const buy = kiteFillCharges(DEFAULT_COSTS.kite, 'BUY', 100, 150_000);
  assert.deepEqual(buy, {
    brokerage: 2_000, // 0.03% = ₹45, capped at ₹20
    stt: 0, // intraday STT is on the sell side
    exchange: 446, // 0.00297% = ₹4.455 → ₹4.46
    sebi: 15, // ₹10 per crore = ₹0.15
    stamp: 450, // 0.003% = ₹4.50
    gst: 443, // 18% of (20 + 4.46 + 0.15) = ₹4.4298 → ₹4.43
    total: 3_354,
  });
  const sell = kiteFillCharges(DEFAULT_COSTS.kite, 'SELL', 100, 150_000);
  assert.equal(sell.stt, 3_750); // 0.025% of ₹1.5 lakh = ₹37.50
  assert.equal(sell.stamp, 0);
});

test('Kite brokerage is capped per order: a later fill of the same order pays only what is left of ₹20', () => {
  const first = kiteFillCharges(DEFAULT_COSTS.kite, 'BUY', 40, 150_000);
  assert.equal(first.brokerage, 1_800); // 0.03% of ₹60,000 = ₹18
  const second = kiteFillCharges(DEFAULT_COSTS.kite, 'BUY', 60, 150_000, first.brokerage);
  assert.equal(second.brokerage, 200);
});

test('Kalshi fee: rate × C × P × (1 − P), rounded up to the cent; makers free unless configured', () => {
  // 100 contracts at $0.50: 0.07 × 100 × 0.25 = $1.75.
  assert.equal(kalshiFillFee(DEFAULT_COSTS.kalshi, 10_000, 5_000, true), 1_750_000);
  // 1 contract at $0.50: $0.0175 → $0.02.
  assert.equal(kalshiFillFee(DEFAULT_COSTS.kalshi, 100, 5_000, true), 20_000);
  assert.equal(kalshiFillFee(DEFAULT_COSTS.kalshi, 100, 5_000, false), 0);
  const makerFees = CostsSchema.parse({ kalshi: { makerBps: 175 } });
  assert.equal(kalshiFillFee(makerFees.kalshi, 10_000, 5_000, false), 440_000); // $0.4375 → $0.44
});

test('a cost schedule names the bad field', () => {
  const r = CostsSchema.safeParse({ kite: { brokeragePerCrore: -1 } });
  assert.equal(r.success, false);
  assert.deepEqual(r.error?.issues[0]?.path, ['kite', 'brokeragePerCrore']);
});
