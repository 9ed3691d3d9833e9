import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { TickFeed } from './tick-feed.ts';
import { TickSlotWriter, tickSlotsBytes } from './tick-slots.ts';
import type { Tick } from './messages.ts';
import { heldSession } from '../test/support/held-session.ts';

const symbols = ['NSE:INFY', 'NSE:TCS'];
const bytesOf = (symbol: string, seq: number) => new TextEncoder().encode(JSON.stringify({ type: 'tick', venue: 'kite', symbol, seq, ts: 0, recvTs: 0, last: 100 + seq } satisfies Tick));
const turn = () => new Promise((r) => setImmediate(r));

/** A session fed from slots (the hub's writer here, in this thread), its strategy held on its first tick until `release()`. */
function fedSession() {
  const { s, seen, release, conflated } = heldSession(symbols);
  const buffer = new SharedArrayBuffer(tickSlotsBytes(symbols.length));
  const writer = new TickSlotWriter(buffer, symbols.length);
  let wakes = 0;
  const write = (symbol: string, seq: number) => {
    writer.write(symbols.indexOf(symbol), bytesOf(symbol, seq));
    if (writer.ring()) wakes++;
  };
  const feed = new TickFeed({ buffer, symbols, session: s, log: pino({ level: 'silent' }) });
  return { s, seen, write, release, feed, wakes: () => wakes, conflated };
}

test('a busy strategy takes the newest tick of each instrument when it is free, the ones it skipped counted as conflated, and is woken once however many ticks arrive', async () => {
  const { s, seen, write, release, feed, wakes, conflated } = fedSession();
  write('NSE:INFY', 1);
  feed.start();
  await turn();
  assert.deepEqual(seen, ['NSE:INFY#1'], 'the tick written before the start is taken, and the strategy is busy with it');
  const before = wakes();
  // A turn of the event loop after each: the feed could wake for every one.
  for (let seq = 2; seq <= 40; seq++) { write('NSE:INFY', seq); await turn(); }
  for (let seq = 1; seq <= 5; seq++) { write('NSE:TCS', seq); await turn(); }
  // The first ring wakes it to queue the strategy's next turn; the second finds the bell
  // cleared by that look and sets it; every later one finds it set and wakes nobody.
  assert.ok(wakes() - before <= 2, `rung ${wakes() - before} times while busy`);
  release();
  await turn();
  await s.drain();
  assert.deepEqual(seen, ['NSE:INFY#1', 'NSE:INFY#40', 'NSE:TCS#5']);
  assert.equal(s.conflated, 38 + 4);
  assert.equal(conflated(), 42, 'every one reported to the metric');
  assert.equal(s.ticks, 45);
  assert.equal(s.tickGaps, 0, 'the skipped ticks were numbered in between: conflated, not lost');

  // Idle again: each tick wakes it and is taken; a seq the hub never wrote is a gap.
  write('NSE:INFY', 41);
  await eventuallyTurns(() => seen.length === 4);
  write('NSE:INFY', 44);
  await eventuallyTurns(() => seen.length === 5);
  assert.deepEqual(seen.slice(3), ['NSE:INFY#41', 'NSE:INFY#44']);
  assert.equal(s.tickGaps, 2, '42 and 43 never reached the hub');
  assert.equal(s.conflated, 42);
  feed.stop();
  write('NSE:INFY', 45);
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(seen.length, 5, 'a stopped feed takes nothing');
});

async function eventuallyTurns(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await turn();
  assert.ok(cond());
}
