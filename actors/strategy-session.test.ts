import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { TestClock } from './clock.ts';
import { KillGate } from './kill-gate.ts';
import { StrategySession } from './strategy-session.ts';
import { TICK_EPOCH_SPAN, type Intent, type OrderUpdate, type Tick } from './messages.ts';
import type { IntentAnswer, StrategyContext } from './strategy-contract.ts';
import type { StrategySpec } from '../config/registry.ts';
import { heldSession } from '../test/support/held-session.ts';

const tick = (symbol: string, seq: number, last = 100): Tick => ({ type: 'tick', venue: 'kite', symbol, seq, ts: 0, recvTs: 0, last });

function session(onTick: (t: Tick, ctx: StrategyContext) => void | Promise<void>, answer: (i: Intent) => IntentAnswer = (i) => ({ status: 'accepted', intentId: i.intentId })) {
  const sent: Intent[] = [];
  let n = 0;
  const gate = new KillGate();
  const s = new StrategySession({
    spec: { id: 's1', venue: 'kite', instruments: ['NSE:INFY'], params: {} } as unknown as StrategySpec, clock: new TestClock(), log: pino({ level: 'silent' }), gate, tickPolicy: 'every',
    module: { create: () => ({ onTick }) } as never,
    send: async (i) => { sent.push(i); return answer(i); },
    onCrash: (err) => { throw err; },
    newIntentId: () => `i${++n}`,
    killLevel: () => gate.level(),
    brokerConnected: () => true,
  });
  s.create();
  s.start();
  return { s, sent, gate };
}

test('a place is tracked as pending before its answer, denied ones are forgotten, and a fill counts once however often it is reported', async () => {
  const { s, sent } = session(async (t, ctx) => { await ctx.place({ symbol: t.symbol, side: 'BUY', qty: 2, orderType: 'LIMIT', limitPrice: t.last }); });
  s.tick(tick('NSE:INFY', 1));
  await s.drain();
  assert.deepEqual(sent.map((i) => i.intentId), ['i1'], 'intent ids come from the injected factory');
  assert.equal(s.ctx.openOrders()[0]?.state, 'pending');
  const fill: OrderUpdate = { type: 'order_update', intentId: 'i1', strategyId: 's1', venue: 'kite', symbol: 'NSE:INFY', side: 'BUY', state: 'filled', qty: 2, filledQty: 2, ts: 1, fill: { fillId: 'f1', qty: 2, price: 100, ts: 1 } } as never;
  s.orderUpdate(fill);
  s.orderUpdate(fill);
  await s.drain();
  assert.equal(s.ctx.position('NSE:INFY'), 2);
  assert.deepEqual(s.ctx.openOrders(), []);
});

test('a closed kill gate answers a place and a modify in the session: nothing is sent', async () => {
  const answers: IntentAnswer[] = [];
  const { s, sent, gate } = session(async (t, ctx) => {
    answers.push(await ctx.place({ symbol: t.symbol, side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: t.last }));
    answers.push(await ctx.modify('x', { price: 5 }));
  });
  gate.apply({ level: 3, scope: { kind: 'global' }, revision: 1 }, 's1');
  s.tick(tick('NSE:INFY', 1));
  await s.drain();
  assert.deepEqual(sent, []);
  assert.deepEqual(answers.map((a) => a.status === 'denied' && a.rule), ['kill_level', 'kill_level']);
});

test('a tick already seen is not delivered again, and a jump in seq is counted as lost', async () => {
  const seen: number[] = [];
  const { s } = session((t) => { seen.push(t.seq); });
  for (const seq of [1, 2, 2, 1, 5]) s.tick(tick('NSE:INFY', seq));
  await s.drain();
  assert.deepEqual(seen, [1, 2, 5]);
  assert.equal(s.tickGaps, 2);
});

test('after a failover the new broker\'s ticks are taken from its first one (its epoch follows the old broker\'s), and the change of broker is no gap', async () => {
  const seen: number[] = [];
  const { s } = session((t) => { seen.push(t.seq); });
  const old = 1_796_000_000 * TICK_EPOCH_SPAN;
  // The old broker published 500 ticks; the standby took the lease 4 s later and numbers from 1 in its epoch.
  const next = (1_796_000_004) * TICK_EPOCH_SPAN;
  for (const seq of [old + 499, old + 500, next + 1, next + 2, next + 4]) s.tick(tick('NSE:INFY', seq));
  await s.drain();
  assert.deepEqual(seen, [old + 499, old + 500, next + 1, next + 2, next + 4], 'every tick of the new broker is taken');
  assert.equal(s.tickGaps, 1, 'only next+3 was lost: the change of broker is not counted as lost ticks');
});

/** A latest-tick session whose strategy is held on its first tick until `release()`, fed ticks still in their bytes. */
function unreadSession() {
  const { s, seen, release, conflated } = heldSession(['NSE:INFY', 'NSE:TCS']);
  /** Offers a tick still in its bytes, counting how often it is read. */
  const reads: number[] = [];
  const unread = (symbol: string, seq: number, opts: { hint?: number | undefined; refuse?: boolean } = {}) =>
    s.tickUnread(symbol, 'hint' in opts ? opts.hint : seq, () => { reads.push(seq); return opts.refuse ? undefined : tick(symbol, seq); });
  return { s, seen, reads, unread, release, conflated };
}

test('a busy strategy\'s ticks are replaced before they are read: only the one it takes is parsed, the rest counted as conflated', async () => {
  const { s, seen, reads, unread, release, conflated } = unreadSession();
  unread('NSE:INFY', 1);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['NSE:INFY#1'], 'the strategy is busy with its first tick');
  for (let seq = 2; seq <= 40; seq++) unread('NSE:INFY', seq);
  for (let seq = 1; seq <= 5; seq++) unread('NSE:TCS', seq);
  assert.deepEqual(reads, [1], 'nothing read while the strategy is busy');
  release();
  await s.drain();
  assert.deepEqual(seen, ['NSE:INFY#1', 'NSE:INFY#40', 'NSE:TCS#5']);
  assert.deepEqual(reads, [1, 40, 5], 'each replaced tick cost no parse');
  assert.equal(s.conflated, 38 + 4);
  assert.equal(conflated(), 42, 'every one reported to the metric');
  assert.equal(s.ticks, 45);
  assert.equal(s.tickGaps, 0, 'the replaced ticks were numbered in between: conflated, not lost');
});

test('ticks replaced unread still show a lost tick as a gap, and a replay among them is not taken for a tick', async () => {
  const { s, seen, unread, release } = unreadSession();
  unread('NSE:INFY', 1);
  await new Promise((r) => setImmediate(r));
  unread('NSE:INFY', 2);
  unread('NSE:INFY', 1); // a replay of the one taken: dropped, as a read one would be
  unread('NSE:INFY', 2); // a replay of the one waiting
  unread('NSE:INFY', 4); // 3 lost
  unread('NSE:INFY', 5);
  release();
  await s.drain();
  assert.deepEqual(seen, ['NSE:INFY#1', 'NSE:INFY#5']);
  assert.equal(s.tickGaps, 1, 'seq 3 lost');
  assert.equal(s.conflated, 2, '2 and 4 replaced');
  assert.equal(s.ticks, 4, 'the replays are not counted');
});

test('a waiting tick refused when read delivers nothing, its seq shows as a gap, and the next tick is taken', async () => {
  const { s, seen, unread, release } = unreadSession();
  unread('NSE:INFY', 1);
  await new Promise((r) => setImmediate(r));
  unread('NSE:INFY', 2, { refuse: true, hint: 1_000 }); // broken bytes that name a seq far ahead
  release();
  await s.drain();
  unread('NSE:INFY', 3);
  await s.drain();
  assert.deepEqual(seen, ['NSE:INFY#1', 'NSE:INFY#3']);
  assert.equal(s.tickGaps, 1, 'the refused one (dead-lettered by its reader) is not taken');
});

test('a catch-up tick older than a live tick still unread does not replace it', async () => {
  const { s, seen, unread, release } = unreadSession();
  unread('NSE:INFY', 1);
  await new Promise((r) => setImmediate(r));
  unread('NSE:INFY', 8);
  s.tick(tick('NSE:INFY', 7)); // the broker's answer with the last tick, come late
  release();
  await s.drain();
  assert.deepEqual(seen, ['NSE:INFY#1', 'NSE:INFY#8']);
  assert.equal(s.tickGaps, 6, 'seqs 2 to 7 never reached it live');
});
