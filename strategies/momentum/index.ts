import { z } from 'zod';
import { defineStrategy, type Tick, type StrategyContext } from '../sdk.ts';

/**
 * Buys after `runLength` consecutive up-ticks and sells after as many down-ticks, with a
 * marketable limit order a few ticks through the last price, never holding more than
 * `maxPosition`. Small and predictable: it exists to exercise the whole order path.
 */
export const paramsSchema = z.strictObject({
  runLength: z.number().int().min(1).max(50).default(3),
  qty: z.number().int().positive().default(1),
  maxPosition: z.number().int().positive().default(5),
  /** How far through the last price the limit goes, in minor units (paise). */
  slippage: z.number().int().nonnegative().default(10),
  /** At most one order in flight per symbol. */
  cooldownMs: z.number().int().nonnegative().default(2000),
});
type Params = z.infer<typeof paramsSchema>;

export function createMomentum(p: Params) {
  const last = new Map<string, number>();
  const run = new Map<string, number>(); // +n up-ticks, -n down-ticks
  const busyUntil = new Map<string, number>();

  async function maybeTrade(t: Tick, ctx: StrategyContext) {
    const r = run.get(t.symbol) ?? 0;
    if (Math.abs(r) < p.runLength) return;
    if ((busyUntil.get(t.symbol) ?? 0) > ctx.clock.now()) return;
    if (!ctx.brokerConnected() || ctx.killLevel() > 0) return;
    if (ctx.openOrders().some((o) => o.symbol === t.symbol)) return;
    const pos = ctx.position(t.symbol);
    const side = r > 0 ? 'BUY' : 'SELL';
    if (side === 'BUY' && pos + p.qty > p.maxPosition) return;
    if (side === 'SELL' && pos - p.qty < -p.maxPosition) return;
    busyUntil.set(t.symbol, ctx.clock.now() + p.cooldownMs);
    run.set(t.symbol, 0);
    const limitPrice = side === 'BUY' ? t.last + p.slippage : Math.max(1, t.last - p.slippage);
    const reply = await ctx.place({ symbol: t.symbol, side, qty: p.qty, orderType: 'LIMIT', limitPrice });
    ctx.log.info({ symbol: t.symbol, side, limitPrice, reply: reply.status, rule: reply.status === 'denied' ? reply.rule : undefined }, 'momentum order');
  }

  return {
    onTick: async (t: Tick, ctx: StrategyContext) => {
      const prev = last.get(t.symbol);
      last.set(t.symbol, t.last);
      if (prev === undefined || prev === t.last) return;
      const r = run.get(t.symbol) ?? 0;
      run.set(t.symbol, t.last > prev ? Math.max(0, r) + 1 : Math.min(0, r) - 1);
      await maybeTrade(t, ctx);
    },
    onOrderUpdate: (u: import('../sdk.ts').OrderUpdate, ctx: StrategyContext) => {
      if (u.fill) ctx.log.info({ symbol: u.symbol, side: u.side, qty: u.fill.qty, price: u.fill.price }, 'filled');
    },
  };
}

export default defineStrategy({ paramsSchema, create: createMomentum });
