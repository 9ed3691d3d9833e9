import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLogBudget, RECORD_OVERHEAD_BYTES, REOPEN_BELOW } from './event-log-budget.ts';

test('a full event log stays full when a size read only corrects the estimate, and reopens once old days are purged', () => {
  const limit = 10_000;
  const b = new EventLogBudget(limit);
  const entry = 100;
  let admitted = 0;
  while (b.admit(entry)) admitted++;
  assert.equal(admitted, Math.floor(limit / (entry + RECORD_OVERHEAD_BYTES)));
  assert.equal(b.isFull(), true);
  // The stream stores a little less than the estimate: room for one more entry on paper.
  const corrected = REOPEN_BELOW * limit + 100;
  assert.ok(corrected + entry + RECORD_OVERHEAD_BYTES <= limit);
  b.observe(corrected);
  assert.equal(b.admit(entry), false, 'refused again: the operator was told it is full');
  assert.equal(b.isFull(), true);
  // `orch events export` archived and purged old days: the stream is at half.
  b.observe(limit / 2);
  assert.equal(b.isFull(), false);
  assert.equal(b.admit(entry), true);
});
