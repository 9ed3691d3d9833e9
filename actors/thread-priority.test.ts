import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tidOfStat } from './thread-priority.ts';

test('the thread id is the first field of the thread\'s stat line, whatever its name holds', () => {
  assert.equal(tidOfStat('19193 (node) R 19180 19180 174 0 -1'), 19193);
  assert.equal(tidOfStat('42 (a b) c) S 1 1 1'), 42);
  assert.equal(tidOfStat(''), undefined);
  assert.equal(tidOfStat('x (node) R'), undefined);
  assert.equal(tidOfStat('0 (node) R'), undefined);
});
