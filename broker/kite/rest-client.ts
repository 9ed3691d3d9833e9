import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../actors/clock.ts';
import type { Logger } from '../../actors/logger.ts';
import type { Priority, RateLimiter } from '../limiter/types.ts';
import type { VenueError } from '../venue-errors.ts';
import { metrics } from '../../actors/metrics.ts';
import { kindForResponse, parseRetryAfter, socketErrorCode, venueError } from './errors.ts';
import { keepAliveFetch, type HttpFetch } from '../http-transport.ts';
import { parseInstrumentsCsv, type KiteInstrument } from './instruments.ts';
import {
  ErrorEnvelopeSchema, HistoricalSchema, HoldingsSchema, LtpMapSchema, MarginsSchema, OhlcMapSchema, OrderHistorySchema,
  OrderResultSchema, OrdersSchema, PositionsSchema, QuoteMapSchema, SessionSchema, SuccessEnvelope, TradesSchema,
  type KiteHistoricalCandle, type KiteHolding, type KiteLtp, type KiteMargins, type KiteOhlc, type KiteOrder, type KiteOrderResult,
  type KitePositions, type KiteQuote, type KiteSession, type KiteTrade,
} from './schemas.ts';

/**
 * Our own thin Kite Connect v3 REST client. Unlike the official SDK it keeps what the order
 * manager needs to act safely: the HTTP status, Retry-After, and whether a failure was our
 * timeout (the write may have landed) or a refused connection (it cannot have).
 */

export type KiteCategory = 'kite.orders' | 'kite.modify' | 'kite.quote' | 'kite.historical' | 'kite.other';
export type Variety = 'regular' | 'amo' | 'co' | 'iceberg' | 'auction';
export type CallOptions = { priority?: Priority };
/** An order write may carry its write-ahead: prepared at once, sent only once the log holds it. */
export type WriteOptions = CallOptions & { sendAfter?: Promise<void> };

export type PlaceOrderParams = {
  tradingsymbol: string;
  exchange: string;
  transaction_type: 'BUY' | 'SELL';
  order_type: 'MARKET' | 'LIMIT' | 'SL' | 'SL-M';
  quantity: number;
  product: string;
  price?: number;
  trigger_price?: number;
  disclosed_quantity?: number;
  validity?: 'DAY' | 'IOC' | 'TTL';
  validity_ttl?: number;
  iceberg_legs?: number;
  iceberg_quantity?: number;
  auction_number?: string;
  tag?: string;
  market_protection?: number;
  autoslice?: boolean;
};
export type ModifyOrderParams = {
  order_type?: PlaceOrderParams['order_type'];
  quantity?: number;
  price?: number;
  trigger_price?: number;
  disclosed_quantity?: number;
  validity?: PlaceOrderParams['validity'];
  /** Needed when the modify makes a LIMIT order MARKET (docs/venues/kite.md, "Market protection"). */
  market_protection?: number;
};

export type KiteRestOptions = {
  /** e.g. https://api.kite.trade or the simulator's restUrl. */
  root: string;
  apiKey: string;
  /** Read on every call: the session manager swaps the token after re-authentication. */
  getAccessToken: () => string | undefined;
  /**
   * Called when `getAccessToken` has none (around the 06:00 IST expiry): the request waits for
   * the session's fresh token instead of failing.
   */
  awaitAccessToken?: () => Promise<string>;
  limiter: RateLimiter;
  clock: Clock;
  /** The official client's default is 7 s. */
  timeoutMs?: number;
  /** Defaults to the keep-alive transport (broker/http-transport.ts); `fetch` itself also fits. */
  fetch?: HttpFetch;
  logger?: Logger;
};

/** Kite resets its windows every second; without Retry-After, pause the bucket that long. */
const DEFAULT_429_PAUSE_MS = 1_000;
const TAG_RE = /^[0-9A-Za-z]{1,20}$/;

type Request<T> = {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: [string, string][];
  form?: Record<string, string | number | boolean | undefined>;
  category: KiteCategory;
  priority: Priority;
  auth?: boolean;
  /** Either a zod schema for `data` of the JSON envelope, or 'csv' for the raw text. */
  expect: z.ZodType<T> | 'csv';
  sendAfter?: Promise<void>;
};

export class KiteRestClient {
  private readonly root: string;
  private readonly timeoutMs: number;
  private readonly doFetch: HttpFetch;

  constructor(private readonly opts: KiteRestOptions) {
    if (!/^https?:\/\//.test(opts.root)) throw new Error(`KiteRestClient: root must be an http(s) URL, got ${JSON.stringify(opts.root)}`);
    if (!opts.apiKey) throw new Error('KiteRestClient: apiKey is required');
    this.root = opts.root.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 7_000;
    if (!(this.timeoutMs > 0)) throw new Error('KiteRestClient: timeoutMs must be positive');
    this.doFetch = opts.fetch ?? keepAliveFetch;
  }

  // ---- orders ---------------------------------------------------------------------------

  placeOrder(variety: Variety, params: PlaceOrderParams, o: WriteOptions = {}): Promise<KiteOrderResult> {
    if (params.tag !== undefined && !TAG_RE.test(params.tag)) {
      return Promise.reject(venueError('InputException', 'tag must be 1-20 alphanumeric characters'));
    }
    return this.send({
      method: 'POST', path: `/orders/${enc(variety)}`, form: params, category: 'kite.orders',
      priority: o.priority ?? 'place', expect: OrderResultSchema, ...(o.sendAfter ? { sendAfter: o.sendAfter } : {}),
    });
  }

  modifyOrder(variety: Variety, orderId: string, params: ModifyOrderParams, o: CallOptions = {}): Promise<KiteOrderResult> {
    return this.send({
      method: 'PUT', path: `/orders/${enc(variety)}/${enc(orderId)}`, form: params, category: 'kite.modify',
      priority: o.priority ?? 'modify', expect: OrderResultSchema,
    });
  }

  cancelOrder(variety: Variety, orderId: string, o: CallOptions & { parentOrderId?: string } = {}): Promise<KiteOrderResult> {
    const query: [string, string][] = o.parentOrderId ? [['parent_order_id', o.parentOrderId]] : [];
    return this.send({
      method: 'DELETE', path: `/orders/${enc(variety)}/${enc(orderId)}`, query, category: 'kite.modify',
      priority: o.priority ?? 'cancel', expect: OrderResultSchema,
    });
  }

  getOrders(o: CallOptions = {}): Promise<KiteOrder[]> {
    return this.read('/orders', OrdersSchema, o);
  }
  /** Every state the order went through, oldest first. */
  getOrderHistory(orderId: string, o: CallOptions = {}): Promise<KiteOrder[]> {
    return this.read(`/orders/${enc(orderId)}`, OrderHistorySchema, o);
  }
  getOrderTrades(orderId: string, o: CallOptions = {}): Promise<KiteTrade[]> {
    return this.read(`/orders/${enc(orderId)}/trades`, TradesSchema, o);
  }
  getTrades(o: CallOptions = {}): Promise<KiteTrade[]> {
    return this.read('/trades', TradesSchema, o);
  }

  // ---- portfolio ------------------------------------------------------------------------

  getPositions(o: CallOptions = {}): Promise<KitePositions> {
    return this.read('/portfolio/positions', PositionsSchema, o);
  }
  getHoldings(o: CallOptions = {}): Promise<KiteHolding[]> {
    return this.read('/portfolio/holdings', HoldingsSchema, o);
  }
  getMargins(o: CallOptions = {}): Promise<KiteMargins> {
    return this.read('/user/margins', MarginsSchema, o);
  }

  // ---- market data ----------------------------------------------------------------------

  getQuote(instruments: string[], o: CallOptions = {}): Promise<Record<string, KiteQuote>> {
    return this.quoteCall('/quote', instruments, 500, QuoteMapSchema, o);
  }
  getOhlc(instruments: string[], o: CallOptions = {}): Promise<Record<string, KiteOhlc>> {
    return this.quoteCall('/quote/ohlc', instruments, 1000, OhlcMapSchema, o);
  }
  getLtp(instruments: string[], o: CallOptions = {}): Promise<Record<string, KiteLtp>> {
    return this.quoteCall('/quote/ltp', instruments, 1000, LtpMapSchema, o);
  }

  /**
   * Candles of one instrument (https://kite.trade/docs/connect/v3/historical/), under Kite's
   * historical limit (3/s, category kite.historical). `from`/`to` are IST wall-clock times,
   * `yyyy-mm-dd hh:mm:ss`, both inclusive; Kite caps the days one call may span per interval.
   */
  async getHistoricalData(instrumentToken: number, interval: string, from: string, to: string, o: CallOptions & { oi?: boolean; continuous?: boolean } = {}): Promise<KiteHistoricalCandle[]> {
    const query: [string, string][] = [['from', from], ['to', to]];
    if (o.continuous) query.push(['continuous', '1']);
    if (o.oi) query.push(['oi', '1']);
    const data = await this.send({
      method: 'GET', path: `/instruments/historical/${enc(String(instrumentToken))}/${enc(interval)}`, query,
      category: 'kite.historical', priority: o.priority ?? 'read', expect: HistoricalSchema,
    });
    return data.candles;
  }

  async getInstruments(exchange?: string, o: CallOptions = {}): Promise<KiteInstrument[]> {
    const csv = await this.send<string>({
      method: 'GET', path: exchange ? `/instruments/${enc(exchange)}` : '/instruments', category: 'kite.other',
      priority: o.priority ?? 'read', expect: 'csv',
    });
    try {
      return parseInstrumentsCsv(csv);
    } catch (e) {
      throw venueError('GatewayError', `Kite GET /instruments: ${(e as Error).message}`, { cause: e });
    }
  }

  // ---- session --------------------------------------------------------------------------

  /** Exchanges a one-time request_token for the day's access token. */
  generateSession(requestToken: string, apiSecret: string, o: CallOptions = {}): Promise<KiteSession> {
    const checksum = createHash('sha256').update(this.opts.apiKey + requestToken + apiSecret).digest('hex');
    return this.send({
      method: 'POST', path: '/session/token', form: { api_key: this.opts.apiKey, request_token: requestToken, checksum },
      category: 'kite.other', priority: o.priority ?? 'modify', auth: false, expect: SessionSchema,
    });
  }

  async invalidateSession(o: CallOptions = {}): Promise<void> {
    const token = this.opts.getAccessToken();
    if (!token) return;
    await this.send({
      method: 'DELETE', path: '/session/token', query: [['api_key', this.opts.apiKey], ['access_token', token]],
      category: 'kite.other', priority: o.priority ?? 'read', expect: z.unknown(),
    });
  }

  // ---- core -----------------------------------------------------------------------------

  private read<T>(path: string, expect: z.ZodType<T>, o: CallOptions): Promise<T> {
    return this.send({ method: 'GET', path, category: 'kite.other', priority: o.priority ?? 'read', expect });
  }

  private quoteCall<T>(path: string, instruments: string[], max: number, expect: z.ZodType<T>, o: CallOptions): Promise<T> {
    if (instruments.length === 0) return Promise.reject(venueError('InputException', `${path}: no instruments`));
    if (instruments.length > max) return Promise.reject(venueError('InputException', `${path}: at most ${max} instruments per call, got ${instruments.length}`));
    return this.send({
      method: 'GET', path, query: instruments.map((i) => ['i', i]), category: 'kite.quote', priority: o.priority ?? 'read', expect,
    });
  }

  private async send<T>(req: Request<T>): Promise<T> {
    const what = `Kite ${req.method} ${req.path}`; // never the query: it can carry a token
    const headers: Record<string, string> = { 'X-Kite-Version': '3' };
    if (req.auth !== false) {
      const token = this.opts.getAccessToken() ?? (await this.awaitToken(what));
      if (!token) throw venueError('TokenException', `${what}: no access token`);
      headers.Authorization = `token ${this.opts.apiKey}:${token}`;
    }
    let body: string | undefined;
    if (req.form) {
      body = formEncode(req.form);
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
    }
    const url = new URL(this.root + req.path);
    for (const [k, v] of req.query ?? []) url.searchParams.append(k, v);

    const settle = await this.opts.limiter.acquire(req.category, { priority: req.priority });
    // Everything above overlaps the event log's write-ahead; its failure propagates unsent.
    if (req.sendAfter) {
      try {
        await req.sendAfter;
      } catch (e) {
        settle();
        throw e;
      }
    }

    const controller = new AbortController();
    let timedOut = false;
    const timer = this.opts.clock.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    let status: number;
    let text: string;
    let contentType: string;
    let retryAfter: string | null;
    try {
      const res = await this.doFetch(url.toString(), { method: req.method, headers, body, signal: controller.signal, redirect: 'manual' });
      status = res.status;
      contentType = res.headers.get('content-type') ?? '';
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (e) {
      throw this.transportError(what, e, timedOut);
    } finally {
      this.opts.clock.clearTimeout(timer);
      settle(); // the venue has counted it by now (broker/limiter/README.md)
    }
    return this.interpret(req, what, status, contentType, retryAfter, text);
  }

  private async awaitToken(what: string): Promise<string | undefined> {
    if (!this.opts.awaitAccessToken) return undefined;
    try {
      return await this.opts.awaitAccessToken();
    } catch (e) {
      throw venueError('TokenException', `${what}: no access token (login failed: ${e instanceof Error ? e.message : 'unknown'})`, { cause: e });
    }
  }

  private transportError(what: string, e: unknown, timedOut: boolean): VenueError {
    if (timedOut) return venueError('Timeout', `${what}: no answer within ${this.timeoutMs} ms`, { cause: e });
    const code = socketErrorCode(e);
    return venueError('ConnectionError', `${what}: ${code ?? 'network error'}`, { cause: e });
  }

  private interpret<T>(req: Request<T>, what: string, status: number, contentType: string, retryAfter: string | null, text: string): T {
    let json: unknown;
    const t = text.trimStart();
    if (contentType.includes('json') || t.startsWith('{') || t.startsWith('[')) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const envelope = ErrorEnvelopeSchema.safeParse(json);
    const ok = status >= 200 && status < 300;
    if (!ok || envelope.success) {
      const errorType = envelope.success ? envelope.data.error_type : undefined;
      const serverMessage = envelope.success ? envelope.data.message : undefined;
      const kind = ok ? kindForResponse(500, errorType, serverMessage) : kindForResponse(status, errorType, serverMessage);
      let retryAfterMs: number | undefined;
      if (kind === 'RateLimited') {
        metrics.venue429Total.inc({ venue: 'kite' });
        retryAfterMs = parseRetryAfter(retryAfter, this.opts.clock.now());
        this.opts.limiter.pauseUntil(req.category, this.opts.clock.now() + (retryAfterMs ?? DEFAULT_429_PAUSE_MS));
      }
      const detail = [status, errorType, serverMessage].filter((x) => x !== undefined && x !== '').join(' ');
      this.opts.logger?.debug({ venue: 'kite', path: req.path, status, errorType, kind }, 'kite call failed');
      return throwIt(venueError(kind, `${what}: ${detail}`, { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }));
    }
    if (req.expect === 'csv') {
      if (contentType.includes('json')) throw venueError('GatewayError', `${what}: expected CSV, got JSON`, { status });
      return text as T;
    }
    if (json === undefined) throw venueError('GatewayError', `${what}: ${status} with a non-JSON body (${contentType || 'no content-type'})`, { status });
    const parsed = SuccessEnvelope(req.expect).safeParse(json);
    if (!parsed.success) {
      throw venueError('GatewayError', `${what}: response failed validation: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { status });
    }
    return parsed.data.data as T;
  }
}

function throwIt(e: VenueError): never {
  throw e;
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

/** application/x-www-form-urlencoded; undefined fields are left out, booleans as true/false. */
export function formEncode(form: Record<string, string | number | boolean | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (v !== undefined) p.append(k, String(v));
  return p.toString();
}
