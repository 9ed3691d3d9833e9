import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPnl, formatPrice, formatQty } from './units.ts';

test('prices read in rupees for Kite paise and dollars for Kalshi hundredths of a cent, exactly', () => {
  assert.equal(formatPrice('kite', 150_050), '₹1,500.50');
  assert.equal(formatPrice('kite', -5), '-₹0.05');
  assert.equal(formatPrice('kalshi', 5_500), '$0.55');
  assert.equal(formatPrice('kalshi', 5_525), '$0.5525');
  // Past 2^53 / 100 a float would lose the last digit; the text split does not.
  assert.equal(formatPrice('kite', 9_007_199_254_740_991), '₹90,071,992,547,409.91');
});

test('P&L is price unit × quantity unit: paise for Kite, millionths of a dollar for Kalshi', () => {
  assert.equal(formatPnl('kite', -1_240), '-₹12.40');
  assert.equal(formatPnl('kalshi', 80_000), '$0.08');
  assert.equal(formatPnl('kalshi', -1_234_567), '-$1.234567');
  assert.equal(formatPnl('kalshi', 0), '$0.00');
});

test('quantities say shares for Kite and contracts for Kalshi (hundredths)', () => {
  assert.equal(formatQty('kite', 3), '3 shares');
  assert.equal(formatQty('kalshi', 150), '1.5 contracts');
  assert.equal(formatQty('kalshi', -1), '-0.01 contracts');
});
