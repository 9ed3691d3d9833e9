import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../actors/clock.ts';
import { SimEngine } from './engine.ts';
import { seedExchange } from './seed.ts';
import { startMarketFlow } from './flow.ts';

function market(seed = 42) {
  const clock = new TestClock(1_700_000_000_000);
  const engine = new SimEngine(clock);
  const { markets } = seedExchange(engine, seed, clock.now());
  return { clock, engine, ticker: markets[1]! };
}

test('paper-mode flow fills quotes kept at the touch, on both sides, within two minutes', async () => {
  const { clock, engine, ticker } = market();
  const flow = startMarketFlow(engine, { clock, seed: 42, intervalMs: 1000, markets: [ticker] });
  // A quoter's behaviour: keep one order at the best price of each side until it fills.
  let n = 0;
  const quote = (side: 'bid' | 'ask') => {
    const t = engine.top(ticker);
    return engine.place({ ticker, side, price: (side === 'bid' ? t.bid : t.ask)![0], count: 100, clientOrderId: `${side}${n++}`, timeInForce: 'good_till_canceled' });
  };
  const live = { bid: quote('bid'), ask: quote('ask') };
  const filled = new Set<string>();
  for (let s = 0; s < 120 && filled.size < 2; s++) {
    await clock.advance(1000);
    for (const side of ['bid', 'ask'] as const) {
      const o = live[side];
      if (o.status === 'executed') filled.add(side);
      else if (!filled.has(side) && o.price !== (side === 'bid' ? engine.top(ticker).bid : engine.top(ticker).ask)?.[0]) {
        engine.cancel(o.orderId);
        live[side] = quote(side);
      }
    }
  }
  flow.stop();
  assert.deepEqual([...filled].sort(), ['ask', 'bid']);
  assert.deepEqual(engine.userFills.map((f) => f.count), [100, 100]);
});

test('the flow is reproducible from its seed and stops when told', async () => {
  const run = async () => {
    const { clock, engine, ticker } = market();
    const flow = startMarketFlow(engine, { clock, seed: 9, intervalMs: 1000, markets: [ticker] });
    await clock.advance(30_000);
    flow.stop();
    const before = engine.levels(ticker);
    await clock.advance(30_000);
    assert.deepEqual(engine.levels(ticker), before, 'nothing moves after stop');
    return before;
  };
  assert.deepEqual(await run(), await run());
});

test('the market makers never leave a crossed book', async () => {
  const { clock, engine, ticker } = market(5);
  const flow = startMarketFlow(engine, { clock, seed: 5, intervalMs: 1000, markets: [ticker] });
  for (let i = 0; i < 120; i++) {
    await clock.advance(1000);
    const t = engine.top(ticker);
    if (t.bid && t.ask) assert.ok(t.bid[0] < t.ask[0], `crossed at round ${i}: ${t.bid[0]} >= ${t.ask[0]}`);
  }
  flow.stop();
});

test('a restarted exchange never reuses an order or trade id (the log would merge two orders)', () => {
  const ids = { orders: new Set<string>(), trades: new Set<string>() };
  for (let run = 0; run < 2; run++) {
    const { engine, ticker } = market();
    const t = engine.top(ticker);
    const o = engine.place({ ticker, side: 'bid', price: t.ask![0], count: 100, clientOrderId: `c${run}`, timeInForce: 'good_till_canceled' });
    ids.orders.add(o.orderId);
    for (const f of engine.userFills) ids.trades.add(f.tradeId);
  }
  assert.equal(ids.orders.size, 2);
  assert.ok(ids.trades.size >= 2, `trades ${[...ids.trades].join(', ')}`);
});
