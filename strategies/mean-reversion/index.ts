import { z } from 'zod';
import { defineStrategy, type Tick, type StrategyContext } from '../sdk.ts';

/**
 * Rests a buy limit `band` below the moving average and a sell limit `band` above it, and
 * re-quotes when the average drifts by more than `requoteAfter`. Position stays within
 * ±maxPosition; a fill on one side is unwound by the other.
 */
export const paramsSchema = z.strictObject({
  window: z.number().int().min(2).max(500).default(20),
  /** Distance from the average, minor units (paise). */
  band: z.number().int().positive().default(50),
  requoteAfter: z.number().int().positive().default(30),
  qty: z.number().int().positive().default(1),
  maxPosition: z.number().int().positive().default(3),
  /** The exchange's price step in minor units (NSE equities: 5 paise); quotes off it are rejected. */
  tickSize: z.number().int().positive().default(5),
});
type Params = z.infer<typeof paramsSchema>;

type Quote = { intentId: string; price: number };

export function createMeanReversion(p: Params) {
  const prices = new Map<string, number[]>();
  const quotes = new Map<string, { buy?: Quote; sell?: Quote }>();

  const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);

  async function requote(symbol: string, avg: number, ctx: StrategyContext) {
    const q = quotes.get(symbol) ?? {};
    quotes.set(symbol, q);
    const live = new Set(ctx.openOrders().map((o) => o.intentId));
    if (q.buy && !live.has(q.buy.intentId)) delete q.buy;
    if (q.sell && !live.has(q.sell.intentId)) delete q.sell;
    const pos = ctx.position(symbol);
    for (const side of ['BUY', 'SELL'] as const) {
      const key = side === 'BUY' ? 'buy' : 'sell';
      const raw = side === 'BUY' ? avg - p.band : avg + p.band;
      // Round away from the average so a quote never gets more aggressive than the band.
      const target = side === 'BUY' ? Math.floor(raw / p.tickSize) * p.tickSize : Math.ceil(raw / p.tickSize) * p.tickSize;
      const cur = q[key];
      if (cur && Math.abs(cur.price - target) < p.requoteAfter) continue;
      if (cur) {
        await ctx.cancel(cur.intentId);
        delete q[key];
      }
      const room = side === 'BUY' ? p.maxPosition - pos : p.maxPosition + pos;
      if (room < p.qty || target <= 0) continue;
      const reply = await ctx.place({ symbol, side, qty: p.qty, orderType: 'LIMIT', limitPrice: target });
      if (reply.status === 'accepted') q[key] = { intentId: reply.intentId, price: target };
    }
  }

  return {
    onTick: async (t: Tick, ctx: StrategyContext) => {
      const xs = prices.get(t.symbol) ?? [];
      xs.push(t.last);
      if (xs.length > p.window) xs.shift();
      prices.set(t.symbol, xs);
      if (xs.length < p.window || !ctx.brokerConnected() || ctx.killLevel() > 0) return;
      await requote(t.symbol, mean(xs), ctx);
    },
  };
}

export default defineStrategy({ paramsSchema, create: createMeanReversion });
