import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { TestClock } from '../../actors/clock.ts';
import { mulberry32 } from '../../actors/prng.ts';
import { checkIntent, type OrderWindow } from '../../broker/risk/gate.ts';
import { loadConfig } from '../../supervisor/config.ts';
import type { OpenOrder, StrategyContext, Tick } from '../sdk.ts';
import { createQuoter, paramsSchema } from './index.ts';

const registryFile = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'config', 'strategies.yaml');

/**
 * The example registry's kalshi-quoter, with its own params and risk limits, through 30 simulated
 * minutes of a busy market: both markets tick every 250 ms, the mid moves a cent on a third of
 * the ticks, and resting quotes fill now and then. Every place and cancel goes through the
 * broker's real risk gate. A paper run once saw the quoter hit ordersPerMinute after ~50 s
 * and be denied from then on.
 */
test('the example kalshi-quoter stays inside its own risk limits through 30 minutes of a busy market: no denial, and it keeps quoting', async () => {
  const cfg = await loadConfig(registryFile);
  const spec = cfg.strategies.find((s) => s.id === 'kalshi-quoter');
  assert.ok(spec, 'kalshi-quoter is in the example registry');
  const params = paramsSchema.parse(spec.params);
  const clock = new TestClock(Date.UTC(2026, 11, 3, 14, 0, 0));
  const rng = mulberry32(20261203);
  const open = new Map<string, OpenOrder>();
  const position = new Map<string, number>();
  const mid = new Map(spec.instruments.map((m, i) => [m, 4_000 + i * 1_500]));
  let window: OrderWindow = [];
  let n = 0;
  const denials: string[] = [];
  let places = 0;
  let fills = 0;

  const gateContext = (symbol: string) => {
    const mine = [...open.values()].filter((o) => o.symbol === symbol);
    return {
      limits: spec.risk, instruments: spec.instruments, openOrders: open.size, lastPrice: mid.get(symbol)!,
      position: {
        net: position.get(symbol) ?? 0,
        openBuyQty: mine.filter((o) => o.side === 'BUY').reduce((q, o) => q + o.qty, 0),
        openSellQty: mine.filter((o) => o.side === 'SELL').reduce((q, o) => q + o.qty, 0),
      },
    };
  };
  const ctx: StrategyContext = {
    id: spec.id, venue: 'kalshi', instruments: spec.instruments, log: pino({ level: 'silent' }), clock,
    place: async (r) => {
      const intentId = `q${++n}`;
      const intent = { action: 'place' as const, intentId, strategyId: spec.id, ts: clock.now(), venue: 'kalshi' as const, symbol: r.symbol, side: r.side, qty: r.qty, orderType: r.orderType, ...(r.limitPrice !== undefined ? { limitPrice: r.limitPrice } : {}) };
      const g = checkIntent(intent, gateContext(r.symbol), window, clock.now());
      window = g.window;
      if (!g.permit.ok) {
        denials.push(`${new Date(clock.now()).toISOString()} ${g.permit.rule}: ${g.permit.reason}`);
        return { status: 'denied', intentId, rule: g.permit.rule, reason: g.permit.reason };
      }
      places++;
      open.set(intentId, { intentId, symbol: r.symbol, side: r.side, qty: r.qty, filledQty: 0, state: 'open', limitPrice: r.limitPrice! });
      return { status: 'accepted', intentId };
    },
    cancel: async (id) => {
      const g = checkIntent({ action: 'cancel', intentId: `c${id}`, strategyId: spec.id, ts: clock.now(), targetIntentId: id }, gateContext(open.get(id)?.symbol ?? ''), window, clock.now());
      window = g.window;
      open.delete(id);
      return { status: 'accepted', intentId: `c${id}` };
    },
    modify: async () => { throw new Error('this strategy does not modify orders'); },
    position: (symbol) => position.get(symbol) ?? 0,
    openOrders: () => [...open.values()],
    killLevel: () => 0,
    brokerConnected: () => true,
  };

  const quoter = createQuoter(params);
  const end = clock.now() + 30 * 60_000;
  while (clock.now() < end) {
    clock.advance(250);
    for (const symbol of spec.instruments) {
      const r = rng();
      const m = Math.min(8_000, Math.max(2_000, mid.get(symbol)! + (r < 1 / 6 ? -100 : r < 1 / 3 ? 100 : 0)));
      mid.set(symbol, m);
      // A resting quote fills now and then (2% a tick), moving the position it leans against.
      for (const o of [...open.values()]) {
        if (o.symbol !== symbol || rng() >= 0.02) continue;
        open.delete(o.intentId);
        position.set(symbol, (position.get(symbol) ?? 0) + (o.side === 'BUY' ? o.qty : -o.qty));
        fills++;
      }
      const tick: Tick = { type: 'tick', venue: 'kalshi', symbol, seq: n, ts: clock.now(), recvTs: clock.now(), last: m, bid: m - 100, ask: m + 100 };
      await quoter.onTick(tick, ctx);
    }
  }
  assert.deepEqual(denials.slice(0, 5), [], `${denials.length} denials in 30 minutes`);
  // Not quiet by giving up: it requoted through the whole half hour, and its quotes filled.
  assert.ok(places > 30 * 40, `only ${places} places in 30 minutes`);
  assert.ok(fills > 100, `only ${fills} fills`);
  assert.ok(open.size > 0, `quotes are resting at the end (places ${places}, fills ${fills}, position ${JSON.stringify([...position])}, mid ${JSON.stringify([...mid])})`);
});
