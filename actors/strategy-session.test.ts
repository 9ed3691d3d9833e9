import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { TestClock } from './clock.ts';
import { KillGate } from './kill-gate.ts';
import { StrategySession } from './strategy-session.ts';
import type { Intent, OrderUpdate, Tick } from './messages.ts';
import type { IntentAnswer, StrategyContext } from './strategy-contract.ts';
import type { StrategySpec } from '../config/registry.ts';

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
