import { z } from 'zod';
import { defineStrategy, type Side, type StrategyContext, type Tick } from '../sdk.ts';

/**
 * Quotes both sides of a Kalshi market around the mid: a YES bid `halfSpread` below it and a
 * YES ask `halfSpread` above, on the price grid, leaning both quotes against the inventory
 * (`skew` per `qty` held) and never quoting the side that would take the position past
 * ±maxPosition. A quote is replaced only when its target moved by `requoteAfter` or more, and
 * only while the quoter's own order budget (`ordersPerMinute`, places per sliding minute, across
 * its markets) has room: set it under the registry's `risk.ordersPerMinute`, and the broker never
 * has to deny a quote. Out of budget, a quote that is off target stays where it is (cancelling it
 * first would leave the side empty); cancels are never counted (they only take risk off).
 *
 * Units are Kalshi's minor units: prices in hundredths of a cent (1 dollar = 10000), sizes in
 * hundredths of a contract (1 contract = 100).
 */
export const paramsSchema = z.strictObject({
  qty: z.number().int().positive().default(100),
  halfSpread: z.number().int().positive().default(100),
  /** the market's price grid; Kalshi's classic markets trade in whole cents */
  tickSize: z.number().int().positive().default(100),
  maxPosition: z.number().int().positive().default(500),
  requoteAfter: z.number().int().positive().default(100),
  /** price shift per `qty` of inventory, hundredths of a cent */
  skew: z.number().int().nonnegative().default(50),
  /** places per sliding minute, all markets together; keep it under the registry's risk.ordersPerMinute */
  ordersPerMinute: z.number().int().positive().default(50),
});
export type QuoterParams = z.infer<typeof paramsSchema>;

const ONE_DOLLAR = 10_000;

/** Where the quotes should sit for this mid and position; a side is absent when it must not quote. */
export function quoteTargets(mid: number, position: number, p: QuoterParams): { BUY?: number; SELL?: number } {
  // Integer division that rounds toward −∞ for the lean, so long and short lean symmetrically.
  const lean = Math.floor((p.skew * position) / p.qty);
  const center = mid - lean;
  const bid = Math.floor((center - p.halfSpread) / p.tickSize) * p.tickSize;
  const ask = Math.ceil((center + p.halfSpread) / p.tickSize) * p.tickSize;
  const out: { BUY?: number; SELL?: number } = {};
  if (position + p.qty <= p.maxPosition && bid > 0 && bid < ONE_DOLLAR) out.BUY = bid;
  if (position - p.qty >= -p.maxPosition && ask > 0 && ask < ONE_DOLLAR) out.SELL = ask;
  if (out.BUY !== undefined && out.SELL !== undefined && out.BUY >= out.SELL) return {};
  return out;
}

type Quote = { intentId: string; price: number };

const MINUTE_MS = 60_000;
/** Places that may go out back to back (one per side of two markets). */
const BURST = 4;

/**
 * The quoter's order budget as a token bucket counted in milliseconds of credit: a place costs
 * `interval` ms, credit accrues one per ms up to BURST places. In any minute that allows at most
 * BURST + MINUTE_MS / interval ≤ ordersPerMinute places, spread over the minute rather than spent
 * in its first seconds (a sliding-window count would quote in bursts and then sit dark).
 */
export function orderBudget(ordersPerMinute: number, now: number) {
  const burst = Math.min(BURST, Math.max(1, ordersPerMinute - 1));
  const interval = Math.ceil(MINUTE_MS / Math.max(1, ordersPerMinute - burst));
  let credit = burst * interval;
  let at = now;
  return {
    take(t: number): boolean {
      credit = Math.min(burst * interval, credit + (t - at));
      at = t;
      if (credit < interval) return false;
      credit -= interval;
      return true;
    },
    canTake(t: number): boolean {
      return Math.min(burst * interval, credit + (t - at)) >= interval;
    },
  };
}

export function createQuoter(p: QuoterParams) {
  const quotes = new Map<string, Partial<Record<Side, Quote>>>();
  let budget: ReturnType<typeof orderBudget> | undefined;

  async function requote(t: Tick, ctx: StrategyContext): Promise<void> {
    const q = quotes.get(t.symbol) ?? {};
    quotes.set(t.symbol, q);
    const live = new Set(ctx.openOrders().map((o) => o.intentId));
    const targets = quoteTargets(t.last, ctx.position(t.symbol), p);
    for (const side of ['BUY', 'SELL'] as const) {
      const cur = q[side];
      if (cur && !live.has(cur.intentId)) delete q[side];
      const target = targets[side];
      const held = q[side];
      if (held && target !== undefined && Math.abs(held.price - target) < p.requoteAfter) continue;
      // Moving (or posting) a quote needs a place; without budget the held quote stays. A side
      // that must not quote any more is still pulled: a cancel is free.
      budget ??= orderBudget(p.ordersPerMinute, ctx.clock.now());
      if (target !== undefined && !budget.canTake(ctx.clock.now())) continue;
      if (held) {
        const c = await ctx.cancel(held.intentId);
        // Only a quote known gone is replaced: a cancel that timed out or was refused may leave
        // it resting, and a second quote beside it would double the exposure. Next tick retries.
        const gone = c.status === 'accepted' || (c.status === 'denied' && (c.rule === 'order_closed' || c.rule === 'unknown_order'));
        if (!gone) {
          ctx.log.warn({ side, intentId: held.intentId, answer: c.status, reason: c.reason }, 'quote not cancelled: kept, not replaced');
          continue;
        }
        delete q[side];
      }
      if (target === undefined) continue;
      budget.take(ctx.clock.now());
      const reply = await ctx.place({ symbol: t.symbol, side, qty: p.qty, orderType: 'LIMIT', limitPrice: target });
      if (reply.status === 'accepted') {
        q[side] = { intentId: reply.intentId, price: target };
        ctx.log.info({ symbol: t.symbol, side, price: target, qty: p.qty, mid: t.last }, 'quote');
      } else if (reply.status === 'timeout') {
        // It may rest at the venue: held like a quote, so a later move cancels it (or finds it gone).
        q[side] = { intentId: reply.intentId, price: target };
        ctx.log.warn({ side, price: target, intentId: reply.intentId, reason: reply.reason }, 'quote not answered in time: held until known');
      } else ctx.log.info({ side, price: target, rule: reply.rule, reason: reply.reason }, 'quote refused');
    }
  }

  return {
    onTick: async (t: Tick, ctx: StrategyContext) => {
      // A one-sided book has no mid worth quoting around.
      if (t.bid === undefined || t.ask === undefined) return;
      if (!ctx.brokerConnected() || ctx.killLevel() > 0) return;
      await requote(t, ctx);
    },
    onOrderUpdate: (u: import('../sdk.ts').OrderUpdate, ctx: StrategyContext) => {
      if (u.fill) ctx.log.info({ symbol: u.symbol, side: u.side, qty: u.fill.qty, price: u.fill.price, intentId: u.intentId, fillId: u.fill.fillId, position: ctx.position(u.symbol) }, 'quote filled');
    },
  };
}

export default defineStrategy({ paramsSchema, create: createQuoter });
