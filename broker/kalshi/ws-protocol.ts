import { z } from 'zod';
import { Count, Dollars, Micros, bookSideOf } from './schemas.ts';
import type { TopOfBook } from './book.ts';

/**
 * Kalshi WebSocket v2 server messages, money and counts as exact integers. Shapes follow Kalshi's
 * AsyncAPI document (docs/venues/kalshi.md, "WebSocket"); a copy of the parts we read is
 * test/fixtures/kalshi-asyncapi/.
 */
const levels = z.array(z.tuple([Dollars, Count]).rest(z.unknown())).nullish()
  .transform((l) => (l ?? []).map(([price, count]) => ({ price, count })));

const Subscribed = z.object({ type: z.literal('subscribed'), id: z.number().optional(), msg: z.object({ channel: z.string(), sid: z.number() }) });
const Unsubscribed = z.object({ type: z.literal('unsubscribed'), id: z.number().optional(), sid: z.number(), seq: z.number().optional() });
const Ok = z.object({ type: z.literal('ok'), id: z.number().optional(), sid: z.number().optional(), seq: z.number().optional(), msg: z.unknown().optional() });
/** `sid` is there when the error is about a live subscription (a terminal one ends it). */
const ErrorMsg = z.object({ type: z.literal('error'), id: z.number().optional(), sid: z.number().optional(), seq: z.number().optional(), msg: z.object({ code: z.number(), msg: z.string() }) });
/** `id` is there when the snapshot answers a `get_snapshot` command: that is its only answer. */
const Snapshot = z.object({
  type: z.literal('orderbook_snapshot'), id: z.number().optional(), sid: z.number(), seq: z.number(),
  msg: z.object({ market_ticker: z.string(), yes_dollars_fp: levels, no_dollars_fp: levels }),
});
const Delta = z.object({
  type: z.literal('orderbook_delta'), sid: z.number(), seq: z.number(),
  msg: z.object({
    market_ticker: z.string(), price_dollars: Dollars, delta_fp: Count, side: z.enum(['yes', 'no']),
    client_order_id: z.string().optional(), ts_ms: z.number().optional(),
  }),
});
const Ticker = z.object({
  type: z.literal('ticker'), sid: z.number(),
  msg: z.object({
    market_ticker: z.string(), price_dollars: Dollars.optional(), yes_bid_dollars: Dollars.optional(), yes_ask_dollars: Dollars.optional(),
    yes_bid_size_fp: Count.optional(), yes_ask_size_fp: Count.optional(), volume_fp: Count.optional(), ts_ms: z.number().optional(),
  }),
});
const Side = z.enum(['yes', 'no']);
/** The taker's direction: `taker_book_side` / `taker_outcome_side` now, `taker_side` (deprecated) before. */
const Trade = z.object({
  type: z.literal('trade'), sid: z.number(), seq: z.number().optional(),
  msg: z.object({
    trade_id: z.string(), market_ticker: z.string(), yes_price_dollars: Dollars, count_fp: Count,
    taker_book_side: z.enum(['bid', 'ask']).optional(), taker_outcome_side: Side.optional(), taker_side: Side.optional(),
    ts_ms: z.number().optional(), ts: z.number().optional(),
  }).transform((m, ctx) => {
    const side = bookSideOf({ book_side: m.taker_book_side, outcome_side: m.taker_outcome_side ?? m.taker_side });
    if (!side) {
      ctx.addIssue({ code: 'custom', path: ['taker_book_side'], message: 'no taker direction: neither taker_book_side, taker_outcome_side nor taker_side' });
      return z.NEVER;
    }
    return { ...m, takerSide: side === 'bid' ? ('yes' as const) : ('no' as const) };
  }),
});
/** A fill's direction: `book_side` / `outcome_side` now; the deprecated `side` + `action` only when they are all there is. */
const Fill = z.object({
  type: z.literal('fill'), sid: z.number(),
  msg: z.object({
    trade_id: z.string(), order_id: z.string(), market_ticker: z.string(), is_taker: z.boolean(),
    book_side: z.enum(['bid', 'ask']).optional(), outcome_side: Side.optional(), side: z.string().optional(), action: z.string().optional(),
    yes_price_dollars: Dollars, count_fp: Count, fee_cost: Micros.optional(),
    ts: z.number().optional(), ts_ms: z.number().optional(), post_position_fp: Count.optional(), client_order_id: z.string().optional(),
  }).transform((m, ctx) => {
    const side = bookSideOf(m);
    if (!side) {
      ctx.addIssue({ code: 'custom', path: ['book_side'], message: 'no direction: neither book_side, outcome_side nor side+action' });
      return z.NEVER;
    }
    return { ...m, bookSide: side };
  }),
});

/**
 * One of the account's orders as it stands after a change (created, traded, decreased, amended,
 * cancelled), made through any client: the `user_orders` channel (docs/venues/kalshi.md, "User
 * orders"). Direction as on fills; the deprecated `side` + `is_yes` only when they are all there is.
 */
const UserOrder = z.object({
  type: z.literal('user_order'), sid: z.number(),
  msg: z.object({
    order_id: z.string(), client_order_id: z.string().nullish(), ticker: z.string(),
    status: z.enum(['resting', 'canceled', 'executed', 'unknown']),
    book_side: z.enum(['bid', 'ask']).optional(), outcome_side: Side.optional(), side: z.string().optional(), is_yes: z.boolean().optional(),
    yes_price_dollars: Dollars, fill_count_fp: Count, remaining_count_fp: Count, initial_count_fp: Count.optional(),
    last_update_reason: z.string().optional(), last_updated_ts_ms: z.number().nullish(), created_ts_ms: z.number().nullish(),
  }).transform((m, ctx): OrderPush | typeof z.NEVER => {
    // `side` on an order is its outcome (yes|no), with no action beside it: the outcome is the direction.
    const side = bookSideOf({ book_side: m.book_side, outcome_side: m.outcome_side ?? (m.side === 'yes' || m.side === 'no' ? m.side : m.is_yes === undefined ? undefined : m.is_yes ? 'yes' : 'no') });
    if (!side) {
      ctx.addIssue({ code: 'custom', path: ['book_side'], message: 'no direction: neither book_side, outcome_side, side nor is_yes' });
      return z.NEVER;
    }
    const push: OrderPush = {
      orderId: m.order_id, clientOrderId: m.client_order_id ?? '', ticker: m.ticker, side, status: m.status, price: m.yes_price_dollars,
      filledCount: m.fill_count_fp, remainingCount: m.remaining_count_fp, initialCount: m.initial_count_fp ?? m.fill_count_fp + m.remaining_count_fp,
    };
    if (m.last_update_reason) push.reason = m.last_update_reason;
    const ts = m.last_updated_ts_ms ?? m.created_ts_ms;
    if (ts !== null && ts !== undefined) push.tsMs = ts;
    return push;
  }),
});

export const ServerMessage = z.discriminatedUnion('type', [Subscribed, Unsubscribed, Ok, ErrorMsg, Snapshot, Delta, Ticker, Trade, Fill, UserOrder]);
export type ServerMessage = z.infer<typeof ServerMessage>;

export type Channel = 'orderbook_delta' | 'ticker' | 'trade' | 'fill' | 'user_orders';

export type Command =
  | { id: number; cmd: 'subscribe'; params: { channels: Channel[]; market_tickers?: string[] } }
  | { id: number; cmd: 'unsubscribe'; params: { sids: number[] } }
  | { id: number; cmd: 'update_subscription'; params: { sids: [number]; market_tickers?: string[]; action: 'add_markets' | 'delete_markets' | 'get_snapshot' } };


export type BookUpdate = TopOfBook & { tsMs: number };
export type TickerUpdate = { ticker: string; last?: number; bid?: number; ask?: number; bidSize?: number; askSize?: number; tsMs?: number };
export type TradeUpdate = { tradeId: string; ticker: string; price: number; count: number; takerSide: 'yes' | 'no'; tsMs?: number };
export type FillUpdate = {
  tradeId: string; orderId: string; clientOrderId?: string; ticker: string; side: 'bid' | 'ask';
  price: number; count: number; isTaker: boolean; postPosition?: number; tsMs?: number;
  /** the exchange fee, micro-dollars (kept exactly: "0.005612" is 5612) */
  feeMicros?: number;
};
export type WsStatus = 'idle' | 'connecting' | 'live' | 'disconnected' | 'closed';

/**
 * A `user_order` push, in the units the rest of the client speaks: price in hundredths of a
 * cent (YES leg), counts in hundredths of a contract. `status` 'unknown' is Kalshi's own word for
 * a state it cannot tell: the order is then looked up over REST.
 */
export type OrderPush = {
  orderId: string; clientOrderId: string; ticker: string; side: 'bid' | 'ask';
  status: 'resting' | 'canceled' | 'executed' | 'unknown';
  price: number; filledCount: number; remainingCount: number; initialCount: number;
  /** `last_update_reason` (Decrease, Amend, Trade, SelfTradeCancel, ...), when Kalshi gives one */
  reason?: string;
  tsMs?: number;
};
