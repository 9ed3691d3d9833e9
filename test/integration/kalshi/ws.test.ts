import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../../actors/clock.ts';
import { registry } from '../../../actors/metrics.ts';
import { startKalshiSim, type KalshiSim } from '../../../exchanges/kalshi/index.ts';
import { KalshiVenue } from '../../../broker/kalshi/index.ts';
import type { BookUpdate, FillUpdate } from '../../../broker/kalshi/ws-client.ts';
import { captureLogger, eventually, flush } from '../../support/kalshi-helpers.ts';
import { FakeLimiter } from '../../support/fake-limiter.ts';

/**
 * The WebSocket client against the built-in exchange over real sockets. Exchange and client
 * share one TestClock, so heartbeats, stale windows and reconnect backoff move only when the
 * test advances time; real waits are only for socket I/O.
 */
let sim: KalshiSim;
let clock: TestClock;
let venue: KalshiVenue;
let books: BookUpdate[];
let events: string[];

beforeEach(async () => {
  clock = new TestClock(Date.now());
  sim = await startKalshiSim({ clock, seed: 3 });
  const { logger } = captureLogger();
  venue = new KalshiVenue({
    restUrl: sim.restUrl, wsUrl: sim.wsUrl, keyId: sim.keyId, privateKey: { path: sim.privateKeyPath },
    limiter: new FakeLimiter(clock), logger, clock, random: () => 0.5, lookupDelayMs: 0,
  });
  books = [];
  events = [];
  venue.on('book', (b) => books.push(b));
  for (const e of ['disconnected', 'reconnected', 'reconcile'] as const) venue.on(e, () => events.push(e));
  await venue.connect();
});
afterEach(async () => {
  await venue.close();
  await sim.close();
});

const lastBook = (ticker: string) => books.filter((b) => b.ticker === ticker).at(-1);
const engineTop = (ticker: string) => {
  const t = sim.engine.top(ticker);
  return { bid: t.bid ? { price: t.bid[0], size: t.bid[1] } : null, ask: t.ask ? { price: t.ask[0], size: t.ask[1] } : null };
};
const mm = (ticker: string, side: 'bid' | 'ask', price: number, count: number) =>
  sim.engine.place({ ticker, side, price, count, timeInForce: 'good_till_canceled' }, 'mm');
const resyncs = async () => Number((await registry.getSingleMetricAsString('orch_kalshi_book_resyncs_total')).match(/orch_kalshi_book_resyncs_total (\d+)/)?.[1] ?? 0);

test('a book starts from the snapshot and follows deltas to the exchange top of book, in integers', async () => {
  const t = sim.markets[0]!;
  await venue.subscribeBook(t);
  await eventually(() => lastBook(t) !== undefined, 'snapshot');
  assert.deepEqual({ bid: lastBook(t)!.bid, ask: lastBook(t)!.ask }, engineTop(t));
  const improved = engineTop(t).bid!.price + 100;
  mm(t, 'bid', improved, 1234);
  await eventually(() => lastBook(t)?.bid?.price === improved, 'delta');
  assert.deepEqual(lastBook(t)!.bid, { price: improved, size: 1234 });
  assert.ok(Number.isInteger(lastBook(t)!.ask!.price));
});

test('a listener that throws is logged and the book keeps flowing to the others', async () => {
  const t = sim.markets[1]!;
  let thrown = 0;
  venue.ws.on('book', () => {
    thrown++;
    throw new Error('a bad consumer');
  });
  await venue.subscribeBook(t);
  await eventually(() => lastBook(t) !== undefined, 'snapshot, past the throwing listener');
  const improved = engineTop(t).bid!.price + 100;
  mm(t, 'bid', improved, 700);
  await eventually(() => lastBook(t)?.bid?.price === improved, 'the next delta: the socket loop survived');
  assert.ok(thrown >= 2);
  assert.equal(venue.ws.status, 'live');
});

test('a second market joins the same subscription and leaving the last one unsubscribes', async () => {
  const [a, b] = [sim.markets[0]!, sim.markets[1]!];
  await venue.subscribeBook(a);
  await venue.subscribeBook(b);
  await venue.subscribeBook(b); // a second strategy wants it too: counted, not resent
  await eventually(() => lastBook(b) !== undefined, 'snapshot of the added market');
  await venue.unsubscribeBook(b);
  assert.ok(venue.ws.book(b), 'still referenced once');
  await venue.unsubscribeBook(b);
  assert.equal(venue.ws.book(b), undefined);
  await venue.unsubscribeBook(a);
  const n = books.length;
  mm(a, 'bid', 100, 100);
  await flush();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(books.length, n, 'no updates after the last reference is gone');
});

test('a skipped sequence number throws the book away and resyncs it from a fresh snapshot', async () => {
  const t = sim.markets[2]!;
  await venue.subscribeBook(t);
  await eventually(() => lastBook(t) !== undefined, 'snapshot');
  const before = await resyncs();
  const resynced: string[] = [];
  venue.ws.on('resync', (r) => resynced.push(`${r.reason}:${r.tickers.join(',')}`));
  sim.faults.skipSequence();
  const price = engineTop(t).bid!.price + 100;
  mm(t, 'bid', price, 700); // this delta arrives with seq + 2
  await eventually(() => resynced.length === 1, 'resync');
  await eventually(() => lastBook(t)?.bid?.price === price, 'fresh snapshot');
  assert.deepEqual(resynced, [`gap:${t}`]);
  assert.equal((await resyncs()) - before, 1);
  assert.deepEqual({ bid: lastBook(t)!.bid, ask: lastBook(t)!.ask }, engineTop(t));
  const ask = engineTop(t).ask!;
  mm(t, 'ask', ask.price, 300); // and deltas flow again after it
  await eventually(() => lastBook(t)?.ask?.size === ask.size + 300, 'delta after resync');
  // The snapshot was the answer to get_snapshot (no `ok` comes): nothing is left waiting to time
  // out into a reconnect once the command deadline has passed.
  for (let i = 0; i < 10; i++) await clock.advance(1_000);
  await flush();
  assert.deepEqual(events, [], 'the same socket, no reconnect');
  assert.equal(venue.ws.status, 'live');
});

test('a terminal buffer overflow (25) loses the book until the new subscription snapshots it; nothing reconnects', async () => {
  const t = sim.markets[1]!;
  await venue.subscribeBook(t);
  await eventually(() => lastBook(t) !== undefined, 'snapshot');
  const resynced: string[] = [];
  const servedWhileLost: unknown[] = [];
  venue.ws.on('resync', (r) => {
    resynced.push(`${r.reason}:${r.tickers.join(',')}`);
    servedWhileLost.push(venue.ws.book(t));
  });
  sim.faults.failSubscriptions(25);
  await eventually(() => resynced.length === 1, 'the terminal error');
  assert.deepEqual(resynced, [`buffer_overflow:${t}`]);
  assert.deepEqual(servedWhileLost, [undefined], 'no book is served while it is lost');
  await eventually(() => venue.ws.book(t) !== undefined, 'resubscribed and snapshotted');
  assert.deepEqual({ bid: lastBook(t)!.bid, ask: lastBook(t)!.ask }, engineTop(t));
  const price = engineTop(t).bid!.price + 100;
  mm(t, 'bid', price, 400); // deltas on the new subscription apply
  await eventually(() => lastBook(t)?.bid?.price === price, 'delta on the new sid');
  for (let i = 0; i < 10; i++) await clock.advance(1_000);
  await flush();
  assert.deepEqual(events, []);
});

test('a channel error (10) on the book subscription resubscribes it, and the book follows the exchange again', async () => {
  const t = sim.markets[0]!;
  await venue.subscribeBook(t);
  await eventually(() => lastBook(t) !== undefined, 'snapshot');
  const reasons: string[] = [];
  venue.ws.on('resync', (r) => reasons.push(r.reason));
  sim.faults.failSubscriptions(10);
  await eventually(() => reasons.length === 1, 'the terminal error');
  assert.deepEqual(reasons, ['channel_error']);
  const price = engineTop(t).bid!.price + 100;
  await eventually(() => venue.ws.book(t) !== undefined, 'resubscribed');
  mm(t, 'bid', price, 500);
  await eventually(() => lastBook(t)?.bid?.price === price, 'delta on the new sid');
});

test('a dropped socket runs the eight steps in order: disconnected, backoff, reconnect, resubscribe, reconnected, reconcile', async () => {
  const t = sim.markets[0]!;
  await venue.subscribeBook(t);
  await eventually(() => lastBook(t) !== undefined, 'snapshot');
  const fills: FillUpdate[] = [];
  venue.on('fill', (f) => fills.push(f));
  const snapshotsBefore = books.length;
  sim.faults.dropSockets();
  await eventually(() => events.length === 1, 'disconnected');
  assert.deepEqual(events, ['disconnected']);
  assert.equal(venue.ws.status, 'disconnected');
  // The first wait is full jitter under 1 s (broker/connection/backoff.ts): 500 ms with this random source.
  await clock.advance(499);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(events.length, 1, 'no reconnect before the backoff');
  await clock.advance(1);
  await eventually(() => events.length === 3, 'reconnected and reconcile');
  assert.deepEqual(events, ['disconnected', 'reconnected', 'reconcile']);
  assert.equal(venue.ws.status, 'live');
  assert.ok(books.length > snapshotsBefore, 'the book was resubscribed and re-snapshotted before "reconnected"');
  // resubscribed to fills as well: a trade of ours arrives on the new socket
  const ask = engineTop(t).ask!;
  await venue.placeOrder({ ticker: t, side: 'bid', price: ask.price, count: 100, clientOrderId: 'after-reconnect' });
  await eventually(() => fills.length === 1, 'fill');
  assert.deepEqual([fills[0]!.side, fills[0]!.price, fills[0]!.count, fills[0]!.clientOrderId], ['bid', ask.price, 100, 'after-reconnect']);
});

test('a socket silent for 12 s (a missed 10 s heartbeat) counts as a disconnect', async () => {
  sim.faults.stallSockets(120_000);
  for (let i = 0; i < 12 && events.length === 0; i++) {
    await clock.advance(1_000);
    await flush();
  }
  assert.deepEqual(events, ['disconnected'], 'noticed within 12 s of silence, not 25');
  assert.equal(events[0], 'disconnected');
  await clock.advance(1_000);
  await eventually(() => events.length === 3, 'reconnected');
  assert.deepEqual(events, ['disconnected', 'reconnected', 'reconcile']);
});

test('pings keep a quiet but healthy socket alive', async () => {
  for (let i = 0; i < 60; i++) {
    await clock.advance(1_000);
    await flush(10);
  }
  assert.deepEqual(events, []);
  assert.equal(venue.ws.status, 'live');
});
