import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../actors/clock.ts';
import { LocalBook, checkSeq } from './book.ts';
import { MarketCache } from './market-cache.ts';
import { placeOrderOnce } from './orders.ts';
import { VenueError } from '../venue-errors.ts';
import type { KalshiRest } from './rest.ts';
import type { KalshiMarket } from './schemas.ts';
import { captureLogger, advance } from '../../test/support/kalshi-helpers.ts';

test('top of book: best YES bid, and YES ask = $1 − best NO bid', () => {
  const b = new LocalBook('T');
  b.snapshot([{ price: 4000, count: 500 }, { price: 4200, count: 1300 }], [{ price: 5000, count: 100 }, { price: 5600, count: 700 }]);
  assert.deepEqual(b.top(), { ticker: 'T', bid: { price: 4200, size: 1300 }, ask: { price: 4400, size: 700 } });
  assert.equal(b.apply('yes', 4200, -1300), true);
  assert.deepEqual(b.top().bid, { price: 4000, size: 500 }, 'an emptied level disappears');
  assert.equal(b.apply('no', 5700, 200), true);
  assert.deepEqual(b.top().ask, { price: 4300, size: 200 });
});

test('a delta that would leave a negative size is refused, so the book gets resynced', () => {
  const b = new LocalBook('T');
  b.snapshot([{ price: 4200, count: 100 }], []);
  assert.equal(b.apply('yes', 4200, -101), false);
  assert.equal(b.apply('no', 3000, -1), false);
  assert.deepEqual(b.levels().yes, [{ price: 4200, size: 100 }], 'a refused delta changes nothing');
});

test('sequence check: next is ok, repeats are duplicates, a jump is a gap', () => {
  assert.equal(checkSeq(undefined, 17), 'ok');
  assert.equal(checkSeq(5, 6), 'ok');
  assert.equal(checkSeq(5, 5), 'duplicate');
  assert.equal(checkSeq(5, 3), 'duplicate');
  assert.equal(checkSeq(5, 7), 'gap');
});

test('market metadata is cached for its TTL on the Clock, and concurrent misses share one request', async () => {
  const clock = new TestClock();
  let fetches = 0;
  const market = { ticker: 'T', event_ticker: 'E', status: 'active', price_ranges: [] } as unknown as KalshiMarket;
  const cache = new MarketCache(async () => { fetches++; return market; }, clock, 60_000);
  await Promise.all([cache.get('T'), cache.get('T'), cache.get('T')]);
  assert.equal(fetches, 1);
  await clock.advance(59_999);
  await cache.get('T');
  assert.equal(fetches, 1);
  await clock.advance(1);
  await cache.get('T');
  assert.equal(fetches, 2, 'expired after exactly the TTL');
});

function fakeRest(script: { creates: Array<'timeout' | 'ok' | 'refused' | 'reject400'>; existing: () => boolean }) {
  const log: string[] = [];
  const rest = {
    async createOrder() {
      const next = script.creates.shift();
      log.push(`create:${next}`);
      if (next === 'timeout') throw new VenueError({ venue: 'kalshi', kind: 'Timeout', message: 't' });
      if (next === 'refused') throw new VenueError({ venue: 'kalshi', kind: 'ConnectionError', message: 'r' });
      if (next === 'reject400') throw new VenueError({ venue: 'kalshi', kind: 'InputException', message: 'bad' });
      return { order_id: 'new', client_order_id: 'c1', fill_count: 0, remaining_count: 100 };
    },
    async getAllOrders() {
      log.push('lookup');
      return script.existing() ? [{ orderId: 'landed', clientOrderId: 'c1', filledCount: 0, remainingCount: 100 }] : [];
    },
  } as unknown as KalshiRest;
  return { rest, log };
}
const ORDER = { ticker: 'T', side: 'bid' as const, price: 100, count: 100, clientOrderId: 'c1' };

test('a timed-out order is looked up before it is retried, and retried only when it is not there', async () => {
  const clock = new TestClock();
  const { logger } = captureLogger();
  const { rest, log } = fakeRest({ creates: ['timeout', 'ok'], existing: () => false });
  const p = placeOrderOnce(rest, ORDER, { clock, logger, random: () => 0.5, lookupDelayMs: 100 });
  await advance(clock, 5_000, 50);
  assert.equal((await p).orderId, 'new');
  assert.deepEqual(log, ['create:timeout', 'lookup', 'create:ok']);
});

test('a timed-out order that did land is returned from the lookup, never sent twice', async () => {
  const clock = new TestClock();
  const { logger } = captureLogger();
  const { rest, log } = fakeRest({ creates: ['timeout', 'ok'], existing: () => true });
  const p = placeOrderOnce(rest, ORDER, { clock, logger, lookupDelayMs: 0 });
  await advance(clock, 1_000, 50);
  const r = await p;
  assert.deepEqual([r.orderId, r.recovered], ['landed', true]);
  assert.deepEqual(log, ['create:timeout', 'lookup']);
});

test('a refused connection is retried without a lookup; a 400 is never retried', async () => {
  const clock = new TestClock();
  const { logger } = captureLogger();
  const a = fakeRest({ creates: ['refused', 'ok'], existing: () => false });
  const p = placeOrderOnce(a.rest, ORDER, { clock, logger, random: () => 0 });
  await advance(clock, 1_000, 50);
  await p;
  assert.deepEqual(a.log, ['create:refused', 'create:ok']);
  const b = fakeRest({ creates: ['reject400', 'ok'], existing: () => false });
  await assert.rejects(placeOrderOnce(b.rest, ORDER, { clock, logger }), (e: VenueError) => e.kind === 'InputException');
  assert.deepEqual(b.log, ['create:reject400']);
});
