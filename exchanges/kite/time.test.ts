import { test } from 'node:test';
import assert from 'node:assert/strict';
import { istDatePrefix, istDateTime, istTime } from './time.ts';

test('istDateTime is IST wall time for each instant, also when instants alternate (the last answer is reused only for the same instant)', () => {
  const a = Date.UTC(2026, 10, 16, 3, 45, 0); // 09:15:00 IST
  const b = Date.UTC(2026, 10, 16, 18, 30, 1); // 00:00:01 IST the next day
  for (let i = 0; i < 3; i++) {
    assert.equal(istDateTime(a), '2026-11-16 09:15:00');
    assert.equal(istDateTime(a), '2026-11-16 09:15:00');
    assert.equal(istDateTime(b), '2026-11-17 00:00:01');
    assert.equal(istTime(b), '00:00:01');
    assert.equal(istDatePrefix(b), '261117');
    assert.equal(istDatePrefix(a), '261116');
  }
});
