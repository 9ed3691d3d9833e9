import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createMeanReversion, paramsSchema } from './index.ts';
import { TestClock } from '../../actors/clock.ts';
import type { StrategyContext, PlaceRequest } from '../sdk.ts';

function fakeCtx(placed: PlaceRequest[]): StrategyContext {
  return {
    id: 'mr', venue: 'kite', instruments: ['NSE:RELIANCE'], log: pino({ level: 'silent' }), clock: new TestClock(),
    place: async (r) => { placed.push(r); return { status: 'accepted', intentId: `i${placed.length}` }; },
    cancel: async (id) => ({ status: 'accepted', intentId: id }),
    modify: async () => { throw new Error('this strategy does not modify orders'); },
    position: () => 0,
    openOrders: () => placed.map((r, i) => ({ intentId: `i${i + 1}`, symbol: r.symbol, side: r.side, qty: r.qty, filledQty: 0, state: 'open' as const })),
    killLevel: () => 0,
    brokerConnected: () => true,
  };
}

test('quotes sit on the exchange tick and never inside the band', async () => {
  const p = paramsSchema.parse({ window: 3, band: 151, tickSize: 5 });
  const s = createMeanReversion(p);
  const placed: PlaceRequest[] = [];
  const ctx = fakeCtx(placed);
  for (const [i, last] of [292_003, 292_004, 292_005].entries()) {
    await s.onTick({ type: 'tick', venue: 'kite', symbol: 'NSE:RELIANCE', seq: i + 1, ts: 0, recvTs: 0, last }, ctx);
  }
  const avg = 292_004;
  const buy = placed.find((r) => r.side === 'BUY')!;
  const sell = placed.find((r) => r.side === 'SELL')!;
  for (const q of [buy, sell]) assert.equal(q.limitPrice! % 5, 0, `${q.side} ${q.limitPrice} is on the tick`);
  assert.ok(avg - buy.limitPrice! >= 151 && avg - buy.limitPrice! < 156);
  assert.ok(sell.limitPrice! - avg >= 151 && sell.limitPrice! - avg < 156);
});
