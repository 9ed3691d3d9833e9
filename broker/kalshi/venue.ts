import type { KeyObject } from 'node:crypto';
import { systemClock, type Clock } from '../../actors/clock.ts';
import type { Logger } from '../../actors/logger.ts';
import type { RateLimiter } from '../limiter/types.ts';
import { kalshiBucketSpec } from '../limiter/limits.ts';
import { KALSHI_READ, KALSHI_WRITE, KalshiCosts } from './ratelimit.ts';
import { VenueError } from '../venue-errors.ts';
import { isOnGrid, isValidCount, isValidPrice } from './fixed.ts';
import { MarketCache } from './market-cache.ts';
import { placeOrderOnce, type PlaceResult } from './orders.ts';
import { KalshiRest } from './rest.ts';
import type { FetchFn } from './http.ts';
import type { KalshiFill, KalshiOrder, KalshiPosition } from './schemas.ts';
import { loadPrivateKey, type KalshiCredentials, type PrivateKeySource } from './signing.ts';
import { KalshiWs, type BookUpdate, type FillUpdate, type OrderPush } from './ws-client.ts';
import { TypedEmitter } from '../connection/emitter.ts';


export type OrderUpdate = {
  orderId: string;
  clientOrderId: string;
  ticker: string;
  /** unknown for a cancel of an order this process did not place */
  side?: 'bid' | 'ask';
  status: 'accepted' | 'canceled' | 'filled' | 'partially_filled';
  /** hundredths of a contract */
  filledCount?: number;
  remainingCount?: number;
};

export type KalshiVenueEvents = {
  book: [BookUpdate];
  fill: [FillUpdate];
  /** What this process did to an order (its create and cancel answers). */
  order: [OrderUpdate];
  /** What the exchange says of any order of the account, whoever changed it (the user_orders channel). */
  userOrder: [OrderPush];
  disconnected: [{ reason: string; atMs: number }];
  reconnected: [{ attempts: number; downtimeMs: number }];
  reconcile: [{ reason: 'reconnect' | 'subscription_lost' }];
};

export type KalshiVenueOptions = {
  restUrl: string;
  wsUrl: string;
  keyId: string;
  /** A file path or env var name (from config), or an already loaded key. Never the PEM text itself. */
  privateKey: PrivateKeySource | KeyObject;
  limiter: RateLimiter;
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  fetch?: FetchFn;
  requestTimeoutMs?: number;
  staleMs?: number;
  marketTtlMs?: number;
  lookupDelayMs?: number;
};

export type PlaceOrderArgs = {
  ticker: string;
  side: 'bid' | 'ask';
  /** YES price, integer hundredths of a cent */
  price: number;
  /** integer hundredths of a contract */
  count: number;
  /** the intent id; makes the write idempotent */
  clientOrderId: string;
  timeInForce?: 'good_till_canceled' | 'immediate_or_cancel' | 'fill_or_kill';
  postOnly?: boolean;
};

/**
 * What the broker actor calls for Kalshi: idempotent order writes, REST reads for
 * reconciliation, and a market-data socket whose events it maps onto NATS.
 */
export class KalshiVenue extends TypedEmitter<KalshiVenueEvents> {
  readonly rest: KalshiRest;
  readonly ws: KalshiWs;
  readonly markets: MarketCache;
  /** tokens per request: the documented fallback until the account's own list is read */
  readonly costs = new KalshiCosts();
  private readonly clock: Clock;
  private readonly placed = new Map<string, { ticker: string; side: 'bid' | 'ask' }>();

  constructor(private readonly opts: KalshiVenueOptions) {
    super((event, err) => opts.logger.error({ venue: 'kalshi', event, err }, 'a kalshi listener threw'));
    this.clock = opts.clock ?? systemClock;
    const privateKey = 'type' in opts.privateKey && (opts.privateKey as KeyObject).type === 'private'
      ? (opts.privateKey as KeyObject)
      : loadPrivateKey(opts.privateKey as PrivateKeySource);
    const credentials: KalshiCredentials = { keyId: opts.keyId, privateKey };
    const common = { clock: this.clock, logger: opts.logger, ...(opts.random ? { random: opts.random } : {}) };
    this.rest = new KalshiRest({
      baseUrl: opts.restUrl, credentials, limiter: opts.limiter, costs: this.costs, ...common,
      ...(opts.fetch ? { fetch: opts.fetch } : {}), ...(opts.requestTimeoutMs ? { timeoutMs: opts.requestTimeoutMs } : {}),
    });
    this.ws = new KalshiWs({ url: opts.wsUrl, credentials, ...common, ...(opts.staleMs ? { staleMs: opts.staleMs } : {}) });
    this.markets = new MarketCache((t) => this.rest.getMarket(t), this.clock, opts.marketTtlMs);
    this.ws.on('book', (b) => this.emit('book', b));
    this.ws.on('fill', (f) => this.onFill(f));
    this.ws.on('order', (o) => this.emit('userOrder', o));
    this.ws.on('disconnected', (e) => this.emit('disconnected', e));
    this.ws.on('reconnected', (e) => this.emit('reconnected', e));
    this.ws.on('reconcile', (e) => this.emit('reconcile', e));
  }

  /**
   * Sizes the shared limiter from the account's own budget, opens the socket and subscribes to
   * the account's fills and order changes: `user_orders` reports every order of the account as
   * it changes, also one changed or cancelled outside this process (the website, another API
   * client), so that is seen while we run (docs/venues/kalshi.md, "User orders").
   */
  async connect(): Promise<void> {
    await this.sizeRateLimits();
    await this.ws.connect();
    await Promise.all([this.ws.subscribe('fill'), this.ws.subscribe('user_orders')]);
  }

  async close(): Promise<void> {
    await this.ws.close();
  }

  /**
   * Reads `GET /account/limits` and `GET /account/endpoint_costs` and sizes the limiter's
   * kalshi.read / kalshi.write buckets and the per-request costs from them. When they cannot be
   * read, the tier table the limiter was built with stays (logged): trading goes on, at the
   * budget the configured tier promises.
   */
  async sizeRateLimits(): Promise<void> {
    const log = this.opts.logger;
    try {
      const [limits, costs] = await Promise.all([this.rest.getAccountLimits(), this.rest.getEndpointCosts()]);
      this.costs.set(costs.endpoint_costs, costs.default_cost);
      if (this.opts.limiter.configure) {
        this.opts.limiter.configure(KALSHI_READ, kalshiBucketSpec(limits.read));
        this.opts.limiter.configure(KALSHI_WRITE, kalshiBucketSpec(limits.write));
      }
      log.info({ venue: 'kalshi', tier: limits.usage_tier, read: limits.read, write: limits.write, defaultCost: costs.default_cost, endpointCosts: costs.endpoint_costs.length }, 'kalshi rate limits from the account');
    } catch (e) {
      log.warn({ venue: 'kalshi', err: (e as Error).message }, 'kalshi account limits unreadable: keeping the configured tier');
    }
  }

  async placeOrder(a: PlaceOrderArgs): Promise<PlaceResult> {
    if (!isValidPrice(a.price)) throw invalid(`price ${a.price} is not between 0 and 10000 hundredths of a cent`);
    if (!isValidCount(a.count)) throw invalid(`count ${a.count} must be a positive integer of hundredths`);
    const market = await this.markets.get(a.ticker);
    if (market.status !== 'active' && market.status !== 'open') {
      throw new VenueError({ venue: 'kalshi', kind: 'ExchangeException', message: `market ${a.ticker} is ${market.status}` });
    }
    if (!isOnGrid(a.price, market.price_ranges)) throw invalid(`price ${a.price} is off the tick grid of ${a.ticker}`);
    const order = { ticker: a.ticker, side: a.side, price: a.price, count: a.count, clientOrderId: a.clientOrderId,
      ...(a.timeInForce ? { timeInForce: a.timeInForce } : {}), ...(a.postOnly !== undefined ? { postOnly: a.postOnly } : {}) };
    const r = await placeOrderOnce(this.rest, order, {
      clock: this.clock, logger: this.opts.logger, ...(this.opts.random ? { random: this.opts.random } : {}),
      ...(this.opts.lookupDelayMs !== undefined ? { lookupDelayMs: this.opts.lookupDelayMs } : {}),
    });
    this.placed.set(r.orderId, { ticker: a.ticker, side: a.side });
    this.emit('order', {
      orderId: r.orderId, clientOrderId: r.clientOrderId, ticker: a.ticker, side: a.side,
      status: r.remainingCount === 0 && r.filledCount > 0 ? 'filled' : r.filledCount > 0 ? 'partially_filled' : 'accepted',
      filledCount: r.filledCount, remainingCount: r.remainingCount,
    });
    return r;
  }

  async cancelOrder(orderId: string, opts: { kill?: boolean } = {}): Promise<{ orderId: string; reducedBy: number }> {
    const known = this.placed.get(orderId);
    const r = await this.rest.cancelOrder(orderId, { ...(known ? { ticker: known.ticker } : {}), priority: opts.kill ? 'kill' : 'cancel' });
    // Kalshi notes a cancel response may describe another order: report the id we asked about.
    const update: OrderUpdate = { orderId, clientOrderId: r.client_order_id ?? '', ticker: known?.ticker ?? '', status: 'canceled', remainingCount: 0 };
    if (known) update.side = known.side;
    this.placed.delete(orderId);
    this.emit('order', update);
    return { orderId, reducedBy: r.reduced_by };
  }

  getOpenOrders(): Promise<KalshiOrder[]> {
    return this.rest.getAllOrders({ status: 'resting' });
  }

  getPositions(): Promise<KalshiPosition[]> {
    return this.rest.getAllPositions();
  }

  getFills(f: { ticker?: string; minTs?: number } = {}): Promise<KalshiFill[]> {
    return this.rest.getAllFills(f);
  }

  subscribeBook(ticker: string): Promise<void> {
    return this.ws.subscribe('orderbook_delta', ticker);
  }

  unsubscribeBook(ticker: string): Promise<void> {
    return this.ws.unsubscribe('orderbook_delta', ticker);
  }

  private onFill(f: FillUpdate): void {
    this.emit('fill', f);
  }
}

function invalid(message: string): VenueError {
  return new VenueError({ venue: 'kalshi', kind: 'InputException', message: `kalshi order: ${message}` });
}
