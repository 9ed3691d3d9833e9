import { z } from 'zod';
import { parseCount, parseDollars, parseMicros } from './fixed.ts';

/**
 * zod schemas for every Kalshi response we read (shapes from kalshi-typescript 3.30.0 models).
 * Money and counts are converted to exact integers during parsing, so no string-to-float
 * conversion can happen anywhere downstream. Unknown fields are dropped.
 */
function exact(parse: (s: string) => number) {
  return z.string().transform((s, ctx) => {
    try {
      return parse(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });
}
/** A price: hundredths of a cent. */
export const Dollars = exact(parseDollars);
/** An amount Kalshi states to 1e-6 dollars (fees, costs, exposure, P&L): micro-dollars. */
export const Micros = exact(parseMicros);
export const Count = exact(parseCount);
const cursor = z.string().nullish().transform((c) => c ?? '');

export const BookSide = z.enum(['bid', 'ask']);
export type BookSide = z.infer<typeof BookSide>;
export const OrderStatus = z.enum(['resting', 'canceled', 'executed']);
export type OrderStatus = z.infer<typeof OrderStatus>;

export const PriceRangeWire = z.object({ start: Dollars, end: Dollars, step: Dollars });

export const MarketWire = z.object({
  ticker: z.string(),
  event_ticker: z.string(),
  market_type: z.string().optional(),
  title: z.string().optional(),
  status: z.string(),
  yes_bid_dollars: Dollars.optional(),
  yes_ask_dollars: Dollars.optional(),
  last_price_dollars: Dollars.optional(),
  volume_fp: Count.optional(),
  open_interest_fp: Count.optional(),
  close_time: z.string().optional(),
  price_level_structure: z.string().optional(),
  price_ranges: z.array(PriceRangeWire).nullish().transform((r) => r ?? []),
});
export type KalshiMarket = z.infer<typeof MarketWire>;

export const MarketsPage = z.object({ markets: z.array(MarketWire), cursor });
export const MarketOne = z.object({ market: MarketWire });

const Level = z.tuple([Dollars, Count]).rest(z.unknown());
const levels = z.array(Level).nullish().transform((l) => (l ?? []).map(([price, count]) => ({ price, count })));
export const OrderbookWire = z.object({
  orderbook_fp: z.object({ yes_dollars: levels, no_dollars: levels }),
});
export type BookLevel = { price: number; count: number };

export const EventWire = z.object({
  event_ticker: z.string(),
  series_ticker: z.string(),
  title: z.string(),
  sub_title: z.string().optional(),
  mutually_exclusive: z.boolean().optional(),
  markets: z.array(MarketWire).optional(),
});
export const EventsPage = z.object({ events: z.array(EventWire), cursor });
export const EventOne = z.object({ event: EventWire, markets: z.array(MarketWire).optional().default([]) });

export const SeriesWire = z.object({
  ticker: z.string(),
  title: z.string(),
  frequency: z.string().optional(),
  category: z.string().optional(),
  fee_type: z.string().optional(),
});
export const SeriesOne = z.object({ series: SeriesWire });
export const SeriesList = z.object({ series: z.array(SeriesWire).nullish().transform((s) => s ?? []) });

export type Direction = { book_side?: BookSide | undefined; outcome_side?: string | undefined; side?: string | undefined; action?: string | undefined };
/**
 * Order direction (docs/venues/kalshi.md, "Order direction"): `book_side` (bid|ask) and
 * `outcome_side` (yes|no) are current and say the same thing (bid = yes); the deprecated
 * `side` + `action` are read only when neither is there (buy YES or sell NO = bid).
 * Undefined when the message carries no direction at all.
 */
export function bookSideOf(o: Direction): BookSide | undefined {
  if (o.book_side) return o.book_side;
  if (o.outcome_side === 'yes') return 'bid';
  if (o.outcome_side === 'no') return 'ask';
  if ((o.side === 'yes' || o.side === 'no') && (o.action === 'buy' || o.action === 'sell')) return (o.side === 'yes') === (o.action === 'buy') ? 'bid' : 'ask';
  return undefined;
}
const directionFields = {
  book_side: BookSide.optional(),
  outcome_side: z.enum(['yes', 'no']).optional(),
  side: z.string().optional(),
  action: z.string().optional(),
};
/** Refuses, naming the fields, a message with no readable direction: guessing a side would book a fill backwards. */
function withDirection<T extends Direction>(o: T, ctx: z.RefinementCtx): T & { direction: BookSide } {
  const direction = bookSideOf(o);
  if (direction === undefined) {
    ctx.addIssue({ code: 'custom', path: ['book_side'], message: 'no direction: neither book_side, outcome_side nor side+action' });
    return z.NEVER;
  }
  return { ...o, direction };
}

export const OrderWire = z
  .object({
    order_id: z.string(),
    client_order_id: z.string().nullish(),
    ticker: z.string(),
    ...directionFields,
    status: OrderStatus,
    yes_price_dollars: Dollars,
    fill_count_fp: Count,
    remaining_count_fp: Count,
    initial_count_fp: Count.optional(),
    created_time: z.string().nullish(),
    last_update_time: z.string().nullish(),
  })
  .transform(withDirection)
  .transform((o) => ({
    orderId: o.order_id,
    clientOrderId: o.client_order_id ?? '',
    ticker: o.ticker,
    side: o.direction,
    price: o.yes_price_dollars,
    initialCount: o.initial_count_fp ?? o.fill_count_fp + o.remaining_count_fp,
    filledCount: o.fill_count_fp,
    remainingCount: o.remaining_count_fp,
    status: o.status,
    createdTime: o.created_time ?? undefined,
  }));
export type KalshiOrder = z.infer<typeof OrderWire>;
export const OrdersPage = z.object({ orders: z.array(OrderWire), cursor });
export const OrderOne = z.object({ order: OrderWire });

export const FillWire = z
  .object({
    fill_id: z.string(),
    trade_id: z.string().optional(),
    order_id: z.string(),
    client_order_id: z.string().nullish(),
    ticker: z.string().optional(),
    market_ticker: z.string().optional(),
    ...directionFields,
    count_fp: Count,
    yes_price_dollars: Dollars,
    is_taker: z.boolean(),
    fee_cost: Micros.optional(),
    created_time: z.string().optional(),
    ts: z.number().optional(),
  })
  .transform(withDirection)
  .transform((f) => ({
    fillId: f.fill_id,
    tradeId: f.trade_id ?? f.fill_id,
    orderId: f.order_id,
    clientOrderId: f.client_order_id ?? undefined,
    ticker: f.market_ticker ?? f.ticker ?? '',
    side: f.direction,
    price: f.yes_price_dollars,
    count: f.count_fp,
    isTaker: f.is_taker,
    /** the exchange fee, micro-dollars (Kalshi states it to 1e-6: "0.005612") */
    feeMicros: f.fee_cost ?? 0,
    tsMs: f.ts !== undefined ? f.ts * 1000 : f.created_time ? Date.parse(f.created_time) : undefined,
  }));
export type KalshiFill = z.infer<typeof FillWire>;
export const FillsPage = z.object({ fills: z.array(FillWire), cursor });

export const PositionWire = z
  .object({
    ticker: z.string(),
    position_fp: Count,
    market_exposure_dollars: Micros,
    realized_pnl_dollars: Micros,
    fees_paid_dollars: Micros,
    total_traded_dollars: Micros.optional(),
  })
  .transform((p) => ({
    ticker: p.ticker,
    /** hundredths of a contract; positive = long YES, negative = long NO */
    position: p.position_fp,
    /** the rest in micro-dollars, exactly as Kalshi states them */
    exposureMicros: p.market_exposure_dollars,
    realizedPnlMicros: p.realized_pnl_dollars,
    feesPaidMicros: p.fees_paid_dollars,
  }));
export type KalshiPosition = z.infer<typeof PositionWire>;
export const PositionsPage = z.object({
  market_positions: z.array(PositionWire).nullish().transform((p) => p ?? []),
  cursor,
});

export const BalanceWire = z.object({
  balance: z.number().int(),
  portfolio_value: z.number().int().optional(),
  updated_ts: z.number().optional(),
});

const ErrorWire = z.object({ code: z.string().optional(), message: z.string().optional(), details: z.string().optional() });

export const CreateOrderResult = z.object({
  order_id: z.string(),
  client_order_id: z.string().nullish(),
  fill_count: Count,
  remaining_count: Count,
  ts_ms: z.number().optional(),
});
export const CancelOrderResult = z.object({
  order_id: z.string(),
  client_order_id: z.string().nullish(),
  reduced_by: Count,
  ts_ms: z.number().optional(),
});
export const AmendOrderResult = z.object({
  order_id: z.string(),
  client_order_id: z.string().nullish(),
  remaining_count: Count.optional(),
  fill_count: Count.optional(),
  ts_ms: z.number().optional(),
});
export const DecreaseOrderResult = z.object({
  order_id: z.string(),
  client_order_id: z.string().nullish(),
  remaining_count: Count,
  ts_ms: z.number().optional(),
});
export const BatchCreateResult = z.object({
  orders: z.array(z.object({
    order_id: z.string().optional(),
    client_order_id: z.string().nullish(),
    fill_count: Count.optional(),
    remaining_count: Count.optional(),
    error: ErrorWire.nullish(),
  })),
});
export const BatchCancelResult = z.object({
  orders: z.array(z.object({
    order_id: z.string(),
    client_order_id: z.string().nullish(),
    reduced_by: Count.optional(),
    error: ErrorWire.nullish(),
  })),
});

/** `GET /account/limits` (kalshi-typescript 3.30 GetAccountApiLimitsResponse): tokens and tokens per second. */
const BucketLimitWire = z.object({ refill_rate: z.number().positive(), bucket_capacity: z.number().positive() });
export const AccountLimitsWire = z.object({
  usage_tier: z.string(),
  read: BucketLimitWire,
  write: BucketLimitWire,
  grants: z.array(z.unknown()).nullish(),
});
export type AccountLimits = z.infer<typeof AccountLimitsWire>;
/** `GET /account/endpoint_costs` (GetAccountEndpointCostsResponse): only the endpoints that differ from `default_cost`. */
export const EndpointCostsWire = z.object({
  default_cost: z.number().positive(),
  endpoint_costs: z.array(z.object({ method: z.string(), path: z.string(), cost: z.number().positive() })).nullish().transform((c) => c ?? []),
});
export type EndpointCosts = z.infer<typeof EndpointCostsWire>;
