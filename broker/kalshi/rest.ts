import type { Priority } from '../limiter/types.ts';
import { KalshiHttp, type KalshiHttpOptions, type Query } from './http.ts';
import { formatCount, formatDollars } from './fixed.ts';
import { KALSHI_READ, KALSHI_WRITE } from './ratelimit.ts';
import * as S from './schemas.ts';

/** Order intent in exact integers; the wire strings are produced here and nowhere else. */
export type NewOrder = {
  ticker: string;
  side: S.BookSide;
  /** YES price in hundredths of a cent */
  price: number;
  /** hundredths of a contract */
  count: number;
  clientOrderId: string;
  timeInForce?: 'good_till_canceled' | 'immediate_or_cancel' | 'fill_or_kill';
  postOnly?: boolean;
  reduceOnly?: boolean;
  selfTradePrevention?: 'taker_at_cross' | 'maker';
  expirationTimeS?: number;
};

export type MarketFilters = {
  limit?: number;
  cursor?: string;
  eventTicker?: string;
  seriesTicker?: string;
  status?: 'unopened' | 'open' | 'paused' | 'closed' | 'settled';
  tickers?: string[];
  minCloseTs?: number;
  maxCloseTs?: number;
};

/** `minTs`: orders created at or after this Unix time (seconds). */
export type OrderFilters = { ticker?: string; eventTicker?: string; status?: S.OrderStatus; minTs?: number; limit?: number; cursor?: string };

export type Page<T> = { items: T[]; cursor: string };

export function toCreateBody(o: NewOrder): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ticker: o.ticker,
    client_order_id: o.clientOrderId,
    side: o.side,
    price: formatDollars(o.price),
    count: formatCount(o.count),
    time_in_force: o.timeInForce ?? 'good_till_canceled',
    self_trade_prevention_type: o.selfTradePrevention ?? 'taker_at_cross',
  };
  if (o.postOnly !== undefined) body.post_only = o.postOnly;
  if (o.reduceOnly !== undefined) body.reduce_only = o.reduceOnly;
  if (o.expirationTimeS !== undefined) body.expiration_time = o.expirationTimeS;
  return body;
}

const enc = encodeURIComponent;

/** Kalshi Trade API v2 endpoints, shaped after kalshi-typescript 3.30.0 (V2 order writes). */
export class KalshiRest {
  readonly http: KalshiHttp;
  constructor(opts: KalshiHttpOptions) {
    this.http = new KalshiHttp(opts);
  }

  private read<T>(path: string, schema: import('zod').ZodType<T>, query?: Query): Promise<T> {
    return this.http.request({ method: 'GET', path, schema, query, category: KALSHI_READ, priority: 'read' });
  }

  // ---- account ----------------------------------------------------------------------------
  /** The account's own token buckets (docs/venues/kalshi.md, "Rate limits"). */
  getAccountLimits(): Promise<S.AccountLimits> {
    return this.read('/account/limits', S.AccountLimitsWire);
  }
  /** Endpoints whose token cost differs from the default, and the default. */
  getEndpointCosts(): Promise<S.EndpointCosts> {
    return this.read('/account/endpoint_costs', S.EndpointCostsWire);
  }

  // ---- market data -------------------------------------------------------------------
  async getMarkets(f: MarketFilters = {}): Promise<Page<S.KalshiMarket>> {
    const r = await this.read('/markets', S.MarketsPage, {
      limit: f.limit, cursor: f.cursor, event_ticker: f.eventTicker, series_ticker: f.seriesTicker, status: f.status,
      tickers: f.tickers?.join(','), min_close_ts: f.minCloseTs, max_close_ts: f.maxCloseTs,
    });
    return { items: r.markets, cursor: r.cursor };
  }
  /** Follows the cursor to the end; `maxPages` guards against a server that never ends. */
  async getAllMarkets(f: Omit<MarketFilters, 'cursor'> = {}, maxPages = 100): Promise<S.KalshiMarket[]> {
    return collect((cursor) => this.getMarkets({ ...f, cursor }), maxPages);
  }
  async getMarket(ticker: string): Promise<S.KalshiMarket> {
    return (await this.read(`/markets/${enc(ticker)}`, S.MarketOne)).market;
  }
  async getOrderbook(ticker: string, depth?: number): Promise<{ yes: S.BookLevel[]; no: S.BookLevel[] }> {
    const r = await this.read(`/markets/${enc(ticker)}/orderbook`, S.OrderbookWire, { depth });
    return { yes: r.orderbook_fp.yes_dollars, no: r.orderbook_fp.no_dollars };
  }
  async getEvents(f: { limit?: number; cursor?: string; seriesTicker?: string; status?: 'open' | 'closed' | 'settled'; withNestedMarkets?: boolean } = {}) {
    const r = await this.read('/events', S.EventsPage, {
      limit: f.limit, cursor: f.cursor, series_ticker: f.seriesTicker, status: f.status, with_nested_markets: f.withNestedMarkets,
    });
    return { items: r.events, cursor: r.cursor };
  }
  getEvent(eventTicker: string) {
    return this.read(`/events/${enc(eventTicker)}`, S.EventOne);
  }
  async getSeries(seriesTicker: string) {
    return (await this.read(`/series/${enc(seriesTicker)}`, S.SeriesOne)).series;
  }
  async getSeriesList(f: { category?: string } = {}) {
    return (await this.read('/series', S.SeriesList, { category: f.category })).series;
  }

  // ---- order writes (V2, /portfolio/events/orders) -------------------------------------
  createOrder(o: NewOrder, priority: Priority = 'place') {
    return this.http.request({
      method: 'POST', path: '/portfolio/events/orders', body: toCreateBody(o), schema: S.CreateOrderResult,
      category: KALSHI_WRITE, priority
    });
  }
  cancelOrder(orderId: string, opts: { ticker?: string; priority?: Priority } = {}) {
    return this.http.request({
      method: 'DELETE', path: `/portfolio/events/orders/${enc(orderId)}`, query: { market_ticker: opts.ticker },
      schema: S.CancelOrderResult, category: KALSHI_WRITE, priority: opts.priority ?? 'cancel',
    });
  }
  /** `count` is the new total fillable (already filled + desired remaining), as Kalshi defines it. */
  amendOrder(orderId: string, a: { ticker: string; side: S.BookSide; price: number; count: number; clientOrderId?: string; updatedClientOrderId?: string }) {
    const body: Record<string, unknown> = { ticker: a.ticker, side: a.side, price: formatDollars(a.price), count: formatCount(a.count) };
    if (a.clientOrderId) body.client_order_id = a.clientOrderId;
    if (a.updatedClientOrderId) body.updated_client_order_id = a.updatedClientOrderId;
    return this.http.request({
      method: 'POST', path: `/portfolio/events/orders/${enc(orderId)}/amend`, body, schema: S.AmendOrderResult,
      category: KALSHI_WRITE, priority: 'modify',
    });
  }
  decreaseOrder(orderId: string, d: { reduceBy: number } | { reduceTo: number }) {
    const body = 'reduceBy' in d ? { reduce_by: formatCount(d.reduceBy) } : { reduce_to: formatCount(d.reduceTo) };
    return this.http.request({
      method: 'POST', path: `/portfolio/events/orders/${enc(orderId)}/decrease`, body, schema: S.DecreaseOrderResult,
      category: KALSHI_WRITE, priority: 'modify',
    });
  }
  batchCreate(orders: NewOrder[]) {
    return this.http.request({
      method: 'POST', path: '/portfolio/events/orders/batched', body: { orders: orders.map(toCreateBody) },
      schema: S.BatchCreateResult, category: KALSHI_WRITE, priority: 'place', items: orders.length,
    });
  }
  batchCancel(orders: Array<{ orderId: string; ticker?: string }>, priority: Priority = 'cancel') {
    const body = { orders: orders.map((o) => (o.ticker ? { order_id: o.orderId, market_ticker: o.ticker } : { order_id: o.orderId })) };
    return this.http.request({
      method: 'DELETE', path: '/portfolio/events/orders/batched', body, schema: S.BatchCancelResult,
      category: KALSHI_WRITE, priority, items: orders.length,
    });
  }

  // ---- portfolio reads ------------------------------------------------------------------
  async getOrders(f: OrderFilters = {}): Promise<Page<S.KalshiOrder>> {
    const r = await this.read('/portfolio/orders', S.OrdersPage, {
      ticker: f.ticker, event_ticker: f.eventTicker, status: f.status, min_ts: f.minTs, limit: f.limit, cursor: f.cursor,
    });
    return { items: r.orders, cursor: r.cursor };
  }
  getAllOrders(f: Omit<OrderFilters, 'cursor'> = {}, maxPages = 100): Promise<S.KalshiOrder[]> {
    return collect((cursor) => this.getOrders({ ...f, cursor }), maxPages);
  }
  async getOrder(orderId: string): Promise<S.KalshiOrder> {
    return (await this.read(`/portfolio/orders/${enc(orderId)}`, S.OrderOne)).order;
  }
  async getPositions(f: { ticker?: string; eventTicker?: string; limit?: number; cursor?: string } = {}): Promise<Page<S.KalshiPosition>> {
    const r = await this.read('/portfolio/positions', S.PositionsPage, {
      ticker: f.ticker, event_ticker: f.eventTicker, limit: f.limit, cursor: f.cursor,
    });
    return { items: r.market_positions, cursor: r.cursor };
  }
  getAllPositions(maxPages = 100): Promise<S.KalshiPosition[]> {
    return collect((cursor) => this.getPositions({ cursor }), maxPages);
  }
  async getFills(f: { ticker?: string; orderId?: string; minTs?: number; limit?: number; cursor?: string } = {}): Promise<Page<S.KalshiFill>> {
    const r = await this.read('/portfolio/fills', S.FillsPage, {
      ticker: f.ticker, order_id: f.orderId, min_ts: f.minTs, limit: f.limit, cursor: f.cursor,
    });
    return { items: r.fills, cursor: r.cursor };
  }
  getAllFills(f: { ticker?: string; minTs?: number; limit?: number } = {}, maxPages = 100): Promise<S.KalshiFill[]> {
    return collect((cursor) => this.getFills({ ...f, cursor }), maxPages);
  }
  /** Balance in integer cents, as Kalshi reports it. */
  async getBalance(): Promise<{ balanceCents: number; portfolioValueCents: number | undefined }> {
    const r = await this.read('/portfolio/balance', S.BalanceWire);
    return { balanceCents: r.balance, portfolioValueCents: r.portfolio_value };
  }
}

export async function collect<T>(page: (cursor: string | undefined) => Promise<Page<T>>, maxPages: number): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const p = await page(cursor);
    out.push(...p.items);
    if (!p.cursor || p.cursor === cursor) return out;
    cursor = p.cursor;
  }
  throw new Error(`kalshi pagination: more than ${maxPages} pages`);
}
