import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BROKER_ERROR_POLICY, BrokerError, EventLogFullError, KillStoreError, LimiterClosedError, WriteAheadFailed, type BrokerErrorCode, type BrokerErrorWire } from './errors.ts';

test('each broker error carries its code and reads retryable from the one table', () => {
  const cases: [BrokerError, BrokerErrorCode, boolean][] = [
    [new EventLogFullError(), 'event_log_full', false],
    [new LimiterClosedError(), 'limiter_closed', false],
    [new WriteAheadFailed(new Error('stream unavailable')), 'write_ahead_failed', false],
    [new KillStoreError('contended', 'kept changing'), 'contended', true],
    [new KillStoreError('not_operator', 'operator only'), 'not_operator', false],
  ];
  for (const [e, code, retryable] of cases) {
    assert.ok(e instanceof BrokerError && e instanceof Error);
    assert.equal(e.code, code);
    assert.equal(e.retryable, retryable, code);
    assert.deepEqual(e.policy, BROKER_ERROR_POLICY[code]);
  }
  assert.equal(new EventLogFullError().name, 'EventLogFullError');
  assert.match(new EventLogFullError(new Error('maximum bytes exceeded')).message, /event log full \(maximum bytes exceeded\): archive/);
});

test('a broker error crosses a boundary as plain data and comes back with its policy', () => {
  const cause = new Error('kv says no');
  const e = new KillStoreError('read_only', 'this kill store was opened read-only');
  const wire = JSON.parse(JSON.stringify(e.toWire())) as BrokerErrorWire;
  assert.deepEqual(wire, { name: 'KillStoreError', code: 'read_only', message: 'this kill store was opened read-only' });
  const back = BrokerError.fromWire(wire);
  assert.equal(back.code, 'read_only');
  assert.equal(back.name, 'KillStoreError');
  assert.equal(back.retryable, false);
  assert.equal(new BrokerError('contended', 'x', cause).cause, cause);
});

test('every code in the table says what the caller does', () => {
  for (const [code, p] of Object.entries(BROKER_ERROR_POLICY)) {
    assert.equal(typeof p.retryable, 'boolean', code);
    assert.ok(['refuse_write', 'refuse_operator', 'retry_read', 'stop'].includes(p.action), code);
  }
});
