import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kindForResponse, neverArrived, parseRetryAfter, socketErrorCode, venueError } from './errors.ts';
import { KITE_ERROR_CASES } from '../../test/support/kite-error-cases.ts';

test('every Kite error_type maps to the action the architecture prescribes', () => {
  for (const [status, type, kind] of KITE_ERROR_CASES) assert.equal(kindForResponse(status, type), kind, `${status} ${type}`);
});

test('Retry-After is read as seconds or as an HTTP date, relative to our clock', () => {
  const now = Date.UTC(2026, 0, 5, 4, 0, 0);
  assert.equal(parseRetryAfter('2', now), 2000);
  assert.equal(parseRetryAfter('0.5', now), 500);
  assert.equal(parseRetryAfter(new Date(now + 3000).toUTCString(), now), 3000);
  assert.equal(parseRetryAfter(new Date(now - 3000).toUTCString(), now), 0);
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter('soon', now), undefined);
});

test('a refused connection proves the request never arrived; a reset does not', () => {
  const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
  const reset = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('socket'), { code: 'UND_ERR_SOCKET' }) });
  const nested = Object.assign(new TypeError('fetch failed'), { cause: new AggregateError([Object.assign(new Error('x'), { code: 'EHOSTUNREACH' })]) });
  assert.equal(socketErrorCode(refused), 'ECONNREFUSED');
  assert.equal(socketErrorCode(nested), 'EHOSTUNREACH');
  assert.equal(neverArrived(venueError('ConnectionError', 'x', { cause: refused })), true);
  assert.equal(neverArrived(venueError('ConnectionError', 'x', { cause: nested })), true);
  assert.equal(neverArrived(venueError('ConnectionError', 'x', { cause: reset })), false);
  assert.equal(neverArrived(venueError('Timeout', 'x', { cause: refused })), false);
  assert.equal(neverArrived(venueError('ConnectionError', 'x')), false, 'unknown cause: assume it may have arrived');
});

test("Kite's refusal of a 26th modification (a 503 NetworkException) is an order refusal, never retried as a link down", () => {
  assert.equal(kindForResponse(503, 'NetworkException', 'Maximum allowed order modifications exceeded.'), 'OrderException');
  assert.equal(kindForResponse(503, 'NetworkException', 'Gateway timed out.'), 'GatewayError', 'other NetworkExceptions stay retryable');
});
