import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { TestClock } from '../../actors/clock.ts';
import type { IntentAnswer, OpenOrder, PlaceRequest, StrategyContext, Tick } from '../sdk.ts';
import { createQuoter, paramsSchema, quoteTargets } from './index.ts';

const p = paramsSchema.parse({});

test('flat, it quotes a cent either side of the mid, on the cent grid', () => {
  assert.deepEqual(quoteTargets(4500, 0, p), { BUY: 4400, SELL: 4600 });
  // a mid between cents rounds the bid down and the ask up, never inside
  assert.deepEqual(quoteTargets(4550, 0, p), { BUY: 4400, SELL: 4700 });
});

test('inventory leans both quotes against the position', () => {
  assert.deepEqual(quoteTargets(4500, 200, p), { BUY: 4300, SELL: 4500 }); // long 2 contracts: 100 lower
  assert.deepEqual(quoteTargets(4500, -200, p), { BUY: 4500, SELL: 4700 });
});

test('at the position limit it quotes only the side that reduces', () => {
  assert.deepEqual(quoteTargets(4500, 500, { ...p, skew: 0 }), { SELL: 4600 });
  assert.deepEqual(quoteTargets(4500, -500, { ...p, skew: 0 }), { BUY: 4400 });
  assert.deepEqual(quoteTargets(4500, 400, { ...p, skew: 0 }), { BUY: 4400, SELL: 4600 });
});

test('no quote at or beyond $0 or $1', () => {
  assert.deepEqual(quoteTargets(100, 0, p), { SELL: 200 });
  assert.deepEqual(quoteTargets(9900, 0, p), { BUY: 9800 });
});

function fakeCtx() {
  const answers: { cancel?: IntentAnswer; place?: IntentAnswer } = {};
  const placed: PlaceRequest[] = [];
  const cancelled: string[] = [];
  const open = new Map<string, OpenOrder>();
  let pos = 0;
  let n = 0;
  const ctx: StrategyContext = {
    id: 'q', venue: 'kalshi', instruments: ['M'], log: pino({ level: 'silent' }), clock: new TestClock(0),
    place: async (r) => {
      placed.push(r);
      const intentId = `i${++n}`;
      open.set(intentId, { intentId, symbol: r.symbol, side: r.side, qty: r.qty, filledQty: 0, state: answers.place ? 'pending' : 'open', limitPrice: r.limitPrice! });
      return answers.place ? { ...answers.place, intentId } : { status: 'accepted', intentId };
    },
    cancel: async (id) => {
      cancelled.push(id);
      if (answers.cancel) return answers.cancel;
      open.delete(id);
      return { status: 'accepted', intentId: `c${id}` };
    },
    modify: async () => { throw new Error('this strategy does not modify orders'); },
    position: () => pos,
    openOrders: () => [...open.values()],
    killLevel: () => 0,
    brokerConnected: () => true,
  };
  return { ctx, placed, cancelled, open, answers, setPos: (x: number) => { pos = x; } };
}

const tick = (last: number, bid = last - 100, ask = last + 100): Tick =>
  ({ type: 'tick', venue: 'kalshi', symbol: 'M', seq: 1, ts: 0, recvTs: 0, last, bid, ask });

test('it keeps its quotes while the mid wanders less than requoteAfter, and replaces them after', async () => {
  const { ctx, placed, cancelled } = fakeCtx();
  const s = createQuoter({ ...p, requoteAfter: 200 });
  await s.onTick(tick(4500), ctx);
  await s.onTick(tick(4550), ctx); // targets 4400 / 4700: the ask is 100 off, under 200
  assert.deepEqual(placed.map((r) => [r.side, r.limitPrice, r.qty]), [['BUY', 4400, 100], ['SELL', 4600, 100]]);
  await s.onTick(tick(4700), ctx);
  assert.deepEqual(cancelled, ['i1', 'i2']);
  assert.deepEqual(placed.slice(2).map((r) => [r.side, r.limitPrice]), [['BUY', 4600], ['SELL', 4800]]);
});

test('a filled quote is requoted, and reaching the limit pulls the bid', async () => {
  const { ctx, placed, cancelled, open, setPos } = fakeCtx();
  const s = createQuoter({ ...p, skew: 0 });
  await s.onTick(tick(4500), ctx);
  open.delete('i1'); // the bid filled
  setPos(500);
  await s.onTick(tick(4500), ctx);
  assert.deepEqual(placed.map((r) => r.side), ['BUY', 'SELL']);
  setPos(400);
  await s.onTick(tick(4500), ctx);
  assert.deepEqual(placed.map((r) => [r.side, r.limitPrice]), [['BUY', 4400], ['SELL', 4600], ['BUY', 4400]]);
  assert.deepEqual(cancelled, []);
});

test('it does not quote a one-sided book or while the broker is disconnected', async () => {
  const { ctx, placed } = fakeCtx();
  const s = createQuoter(p);
  await s.onTick({ ...tick(4500), ask: undefined } as Tick, ctx);
  await s.onTick(tick(4500), { ...ctx, brokerConnected: () => false });
  assert.equal(placed.length, 0);
});

test('a cancel answered past its deadline is an answer: the quote is kept, not doubled, and the cancel retried next tick', async () => {
  const { ctx, placed, cancelled, answers, open } = fakeCtx();
  const s = createQuoter({ ...p, requoteAfter: 100 });
  await s.onTick(tick(4500), ctx);
  answers.cancel = { status: 'timeout', intentId: 'c', afterMs: 10_000, reason: 'the broker did not answer within 10000 ms' };
  await s.onTick(tick(4700), ctx); // both quotes should move; neither cancel is confirmed
  assert.deepEqual(cancelled, ['i1', 'i2']);
  assert.equal(placed.length, 2, 'no second quote beside one that may still rest');
  delete answers.cancel;
  await s.onTick(tick(4700), ctx);
  assert.deepEqual(cancelled, ['i1', 'i2', 'i1', 'i2']);
  assert.deepEqual(placed.slice(2).map((r) => [r.side, r.limitPrice]), [['BUY', 4600], ['SELL', 4800]]);
  assert.equal(open.size, 2);
});

test('a quote whose place timed out is held and cancelled when the market moves, never left behind', async () => {
  const { ctx, placed, cancelled, answers } = fakeCtx();
  const s = createQuoter({ ...p, requoteAfter: 100 });
  answers.place = { status: 'timeout', intentId: 'x', afterMs: 10_000, reason: 'late' };
  await s.onTick(tick(4500), ctx);
  delete answers.place;
  await s.onTick(tick(4500), ctx);
  assert.equal(placed.length, 2, 'the timed-out quotes are held, not placed again');
  await s.onTick(tick(4700), ctx);
  assert.deepEqual(cancelled, ['i1', 'i2']);
});
