import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KITE_DEFAULT_GUARD_MS, kiteLimitSettings } from './kite.ts';

test('Kite rate-limit figures come from KITE_* variables; unset ones keep the strictest documented defaults', () => {
  assert.deepEqual(kiteLimitSettings({}), { guardMs: KITE_DEFAULT_GUARD_MS });
  assert.deepEqual(
    kiteLimitSettings({ KITE_ORDERS_PER_MINUTE: '200', KITE_ORDERS_PER_DAY: '3000', KITE_MODIFY_PER_SECOND: '25', KITE_LIMIT_GUARD_MS: '20', KITE_ORDERS_PER_SECOND: '' }),
    { guardMs: 20, ordersPerMinute: 200, ordersPerDay: 3000, modifyPerSecond: 25 },
  );
  assert.throws(() => kiteLimitSettings({ KITE_ORDERS_PER_DAY: '5k' }), /KITE_ORDERS_PER_DAY: expected a positive whole number, got "5k"/);
  assert.throws(() => kiteLimitSettings({ KITE_ORDERS_PER_MINUTE: '0' }), /KITE_ORDERS_PER_MINUTE/);
  assert.throws(() => kiteLimitSettings({ KITE_LIMIT_GUARD_MS: '-1' }), /KITE_LIMIT_GUARD_MS/);
});
