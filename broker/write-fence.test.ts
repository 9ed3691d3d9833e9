import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeVenue } from '../test/support/fake-venue.ts';
import { fenceWrites, NotLeaderError } from './write-fence.ts';
import type { VenueOrderRequest } from './venue.ts';

const req = { symbol: 'NSE:INFY', side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: 150_000, intentId: 'i1' } as unknown as VenueOrderRequest;

test('no write leaves a fenced adapter: a place whose write-ahead resolves after the lease became unsafe, a cancel and a modify are refused, reads pass', async () => {
  const venue = new FakeVenue();
  let unsafe: string | undefined;
  const fenced = fenceWrites(venue, () => unsafe);

  let stored!: () => void;
  const writeAhead = new Promise<void>((r) => { stored = r; });
  const place = fenced.place(req, 'place', writeAhead);
  // The lease lapses (a freeze) while the write-ahead is on its way: the order must not leave.
  unsafe = 'no lease renewal for 9000 ms';
  stored();
  await assert.rejects(place, NotLeaderError);
  await assert.rejects(fenced.cancel('o1'), NotLeaderError);
  await assert.rejects(fenced.modify!({ venueOrderId: 'o1', qty: 2 } as never), NotLeaderError);
  assert.equal(venue.writes.length, 0, 'the venue saw no write');
  assert.deepEqual(await fenced.openOrders(), [], 'reads pass through');

  unsafe = undefined;
  await fenced.place(req, 'place', Promise.resolve());
  assert.deepEqual(venue.writes.map((w) => w.op), ['place'], 'a holder that can vouch for its lease writes');
});

test('a write-ahead that fails while the venue still holds the place back (its limiter) is that place\'s error, never an unhandled rejection that would end the broker', async () => {
  const venue = new FakeVenue();
  let release!: () => void;
  venue.gate = new Promise<void>((r) => { release = r; });
  const fenced = fenceWrites(venue, () => undefined);
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const full = new Error('event log full');
    const writeAhead = Promise.reject(full);
    writeAhead.catch(() => undefined); // the order path's own handler (broker/orders.ts)
    const place = fenced.place(req, 'place', writeAhead);
    // A turn of the event loop with the place still held: where Node reports unhandled rejections.
    await new Promise((r) => setImmediate(r));
    release();
    await assert.rejects(place, (e) => e === full);
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
    assert.equal(venue.writes.length, 0, 'the venue saw no write');
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
