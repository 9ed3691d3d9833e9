import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../actors/clock.ts';
import type { OrderState, Side } from '../../actors/messages.ts';
import { VenueEventHub } from '../venue.ts';
import type { HistoryQuery, OrderRuleViolation, VenueAdapter, VenueEvents, VenueModifyRequest, VenueOrder, VenueOrderRequest, VenuePosition } from '../venue.ts';
import type { KiteRestClient } from './rest-client.ts';
import type { KiteOrderWriter } from './order-writer.ts';
import type { KiteRetry } from './retry.ts';
import { OrderSchema, type KiteOrder } from './schemas.ts';
import type { KiteInstrument } from './instruments.ts';
import { VenueError } from '../venue-errors.ts';
import type { Tick as KiteTick } from './ticker-parser.ts';
import { intentTag } from './tag.ts';
import { KiteOrderStates, isKiteStatus, kiteTime, normalizedState, type KiteOrderSnapshot, type Verdict } from './order-state.ts';
import { AUTO_MARKET_PROTECTION } from '../../config/risk-limits.ts';
import type { TickMode } from '../../config/tick-mode.ts';

/** The market-data link the adapter needs (implemented by the Kite ticker client). */
export interface KiteTickerPort {
  connect(): Promise<void>;
  close(): Promise<void>;
  /** Replaces the wanted set: the port subscribes/unsubscribes the difference, in these modes. */
  setWanted(tokens: ReadonlyMap<number, TickMode>): void;
  isOpen(): boolean;
  onTick(fn: (t: KiteTick) => void): void;
  onOrder(fn: (o: unknown) => void): void;
  onDisconnected(fn: (reason: string) => void): void;
  onReconnected(fn: () => void): void;
  onReconcile(fn: () => void): void;
}

/** Kite's status string → the normalized state the rest of the system speaks. */
export function kiteState(status: string, filled: number, qty: number): OrderState {
  return isKiteStatus(status) ? normalizedState({ status, filledQty: filled, qty }) : filled > 0 && filled < qty ? 'partially_filled' : 'open';
}

/** Where an order report came from; each path is merged through the same state machine. */
export type OrderSource = 'postback' | 'ticker' | 'poll' | 'rest';

/** Rupees (a JSON number from Kite) → integer paise. */
export const toPaise = (rupees: number | null | undefined): number | undefined =>
  rupees === null || rupees === undefined ? undefined : Math.round(rupees * 100);

export type KiteAdapterOptions = {
  rest: KiteRestClient;
  writer: KiteOrderWriter;
  /**
   * Every read goes through it, like the writes: a 403 TokenException on a read (an exchange
   * that restarted and forgot the session) re-logs in and the read is made again.
   */
  retry: KiteRetry;
  ticker: KiteTickerPort;
  clock: Clock;
  log: Logger;
  product?: string;
  /** REST polling of open orders, the fallback when pushes go quiet. */
  pollIntervalMs?: number;
  tickMode?: TickMode;
};

export class KiteAdapter implements VenueAdapter {
  readonly venue = 'kite' as const;
  readonly placeCategory = 'kite.orders';
  /** PUT /orders counts under Kite's modify/cancel family, not under placements (broker/limiter/limits.ts). */
  readonly modifyCategory = 'kite.modify';
  /** Kite refuses the 26th modification of one order (docs/venues/kite.md "Modifications per order"). */
  readonly maxModificationsPerOrder = 25;
  private readonly events = new VenueEventHub((event, err) => this.o.log.error({ event, err }, 'a kite venue listener threw'));
  private readonly tokenBySymbol = new Map<string, number>();
  /** Kite's order rules per instrument: price grid (paise) and lot size (units). */
  private readonly rulesBySymbol = new Map<string, { tickPaise: number; lot: number }>();
  private readonly symbolByToken = new Map<number, string>();
  private readonly intentByTag = new Map<string, string>();
  private readonly openOrderIds = new Set<string>();
  /**
   * Placed, but no report about them yet. Kite sends no WebSocket order update for the
   * placement itself (docs/venues/kite.md, "Order updates"), so these are polled over REST
   * even while pushes about other orders keep coming.
   */
  private readonly unconfirmed = new Set<string>();
  private pollTimer: TimerHandle | undefined;
  private lastPushTs = 0;
  private readonly states = new KiteOrderStates();

  constructor(private readonly o: KiteAdapterOptions) {}

  on<E extends keyof VenueEvents>(event: E, fn: VenueEvents[E]): void {
    this.events.on(event, fn);
  }

  async start(): Promise<void> {
    for (const i of await this.instruments()) {
      const symbol = `${i.exchange}:${i.tradingsymbol}`;
      this.tokenBySymbol.set(symbol, i.instrument_token);
      this.rulesBySymbol.set(symbol, { tickPaise: Math.round(i.tick_size * 100), lot: i.lot_size });
      this.symbolByToken.set(i.instrument_token, symbol);
    }
    const t = this.o.ticker;
    t.onTick((k) => this.onTick(k));
    t.onOrder((raw) => void this.ingest(raw, 'ticker'));
    t.onDisconnected((r) => this.events.emit('disconnected', r));
    t.onReconnected(() => this.events.emit('reconnected'));
    t.onReconcile(() => this.events.emit('reconcile'));
    await t.connect();
    const every = this.o.pollIntervalMs ?? 1000;
    this.pollTimer = this.o.clock.setInterval(() => void this.poll(every), every);
    this.o.log.info({ instruments: this.tokenBySymbol.size }, 'kite adapter started');
  }

  /**
   * The day's instrument list, tried again after a 429: a broker restarted within the second
   * its predecessor spent the account's budget in must not fail its start for that. The REST
   * client has already paused the bucket for the Retry-After, so the next try waits for it.
   */
  private async instruments(): Promise<KiteInstrument[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.o.retry.read('instruments', () => this.o.rest.getInstruments());
      } catch (e) {
        if (!(e instanceof VenueError) || e.kind !== 'RateLimited' || attempt >= 5) throw e;
        this.o.log.warn({ attempt, err: e.message }, 'instrument list rate-limited; trying again');
      }
    }
  }

  async stop(): Promise<void> {
    this.o.clock.clearInterval(this.pollTimer);
    await this.o.ticker.close();
  }

  connected(): boolean {
    return this.o.ticker.isOpen();
  }

  /** In the day's instrument list loaded at start (`EXCHANGE:TRADINGSYMBOL`). */
  async knows(symbol: string): Promise<boolean> {
    return this.tokenBySymbol.has(symbol);
  }

  async setInstruments(symbols: readonly string[], modes?: ReadonlyMap<string, TickMode | undefined>): Promise<void> {
    const wanted = new Map<number, TickMode>();
    for (const s of symbols) {
      const token = this.tokenBySymbol.get(s);
      if (token === undefined) {
        this.o.log.error({ symbol: s }, 'unknown Kite instrument: not subscribed');
        continue;
      }
      wanted.set(token, modes?.get(s) ?? this.o.tickMode ?? 'quote');
    }
    this.o.ticker.setWanted(wanted);
  }

  private onTick(k: KiteTick): void {
    const symbol = this.symbolByToken.get(k.instrumentToken);
    if (!symbol) return;
    const toMinor = (raw: number) => Math.round((raw * 100) / k.divisor);
    const ts = 'exchangeTimestamp' in k && k.exchangeTimestamp > 0 ? k.exchangeTimestamp * 1000 : this.o.clock.now();
    const tick: Parameters<VenueEvents['tick']>[0] = { symbol, ts: Math.min(ts, this.o.clock.now()), last: toMinor(k.lastPrice) };
    if (k.kind === 'full') {
      const bid = k.depth.buy[0];
      const ask = k.depth.sell[0];
      if (bid && bid.price > 0) tick.bid = toMinor(bid.price);
      if (ask && ask.price > 0) tick.ask = toMinor(ask.price);
    }
    if (k.kind === 'quote' || k.kind === 'full') tick.volume = k.volumeTraded;
    this.events.emit('tick', tick);
  }

  /**
   * The one door for order reports: validated, then judged by the Kite state machine, so the
   * postback, the ticker's order frames and REST polling can repeat or reorder each other freely.
   */
  ingest(raw: unknown, source: OrderSource): Verdict | { kind: 'invalid'; reason: string } {
    const parsed = OrderSchema.safeParse(raw);
    if (!parsed.success) {
      const reason = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      this.o.log.warn({ source, reason }, 'kite order report failed validation: ignored');
      return { kind: 'invalid', reason };
    }
    if (source === 'postback' || source === 'ticker') this.lastPushTs = this.o.clock.now();
    return this.report(parsed.data, source);
  }

  private report(o: KiteOrder, source: OrderSource): Verdict {
    const { verdict, current } = this.states.observe(o.order_id, this.snapshotOf(o));
    if (current && normalizedState(current) !== 'pending') this.unconfirmed.delete(o.order_id);
    if (verdict.kind === 'impossible') this.o.log.warn({ source, orderId: o.order_id, status: o.status, reason: verdict.reason }, 'kite order report refused: impossible transition');
    if (verdict.kind === 'apply' && verdict.next.rawStatus !== undefined) {
      this.o.log.info({ source, orderId: o.order_id, status: verdict.next.rawStatus, kept: verdict.next.status }, 'kite order status outside the known table: kept, order phase unchanged');
    }
    if (verdict.kind !== 'apply' || !current) return verdict;
    const v = this.toVenueOrder(o, current);
    if (v.state === 'filled' || v.state === 'cancelled' || v.state === 'rejected') this.openOrderIds.delete(v.venueOrderId);
    this.events.emit('order', v);
    return verdict;
  }

  private snapshotOf(o: KiteOrder) {
    const updatedAt = kiteTime(o.exchange_update_timestamp ?? o.exchange_timestamp ?? o.order_timestamp);
    return { status: o.status, qty: o.quantity ?? 0, filledQty: o.filled_quantity ?? 0, ...(updatedAt !== undefined ? { updatedAt } : {}) };
  }

  private toVenueOrder(o: KiteOrder, s: KiteOrderSnapshot): VenueOrder {
    const filled = s.filledQty;
    const v: VenueOrder = {
      venueOrderId: o.order_id,
      symbol: `${o.exchange ?? 'NSE'}:${o.tradingsymbol ?? '?'}`,
      side: (o.transaction_type === 'SELL' ? 'SELL' : 'BUY') as Side,
      qty: s.qty,
      filledQty: filled,
      state: normalizedState(s),
      venueStatus: s.rawStatus ?? s.status,
      ts: this.o.clock.now(),
    };
    const intentId = o.tag ? this.intentByTag.get(o.tag.toLowerCase()) : undefined;
    if (intentId) v.intentId = intentId;
    const avg = toPaise(o.average_price);
    if (avg !== undefined && filled > 0) v.avgPrice = avg;
    const px = toPaise(o.price);
    if (px !== undefined && px > 0) v.limitPrice = px;
    if (o.status_message) v.message = o.status_message;
    return v;
  }

  /** Lets the adapter recognise orders placed before a restart (tags are digests of intent ids). */
  rememberIntent(intentId: string): string {
    const tag = intentTag(intentId);
    this.intentByTag.set(tag, intentId);
    return tag;
  }

  /** Kite refuses a quantity that is not whole lots (F&O) and a limit price off the tick grid. */
  checkOrder(req: VenueOrderRequest): OrderRuleViolation | undefined {
    return kiteOrderRule(this.rulesBySymbol.get(req.symbol), req);
  }

  async place(req: VenueOrderRequest, priority: 'place' | 'kill', sendAfter: Promise<void>): Promise<{ venueOrderId: string; duplicate?: boolean }> {
    const tag = this.rememberIntent(req.intentId);
    const [exchange, tradingsymbol] = req.symbol.includes(':') ? (req.symbol.split(':', 2) as [string, string]) : ['NSE', req.symbol];
    const r = await this.o.writer.placeOrderIdempotent(
      tag,
      {
        exchange, tradingsymbol, transaction_type: req.side, order_type: req.orderType, quantity: req.qty,
        product: this.o.product ?? 'MIS', validity: 'DAY',
        ...(req.limitPrice !== undefined ? { price: req.limitPrice / 100 } : {}),
        // Kite refuses a MARKET order without protection (docs/venues/kite.md "Market protection").
        ...(req.orderType === 'MARKET' ? { market_protection: req.marketProtection ?? AUTO_MARKET_PROTECTION } : {}),
      },
      { priority: priority === 'kill' ? 'kill' : 'place', sendAfter },
    );
    this.openOrderIds.add(r.orderId);
    if (!this.states.get(r.orderId)) this.unconfirmed.add(r.orderId);
    return r.outcome === 'found' ? { venueOrderId: r.orderId, duplicate: true } : { venueOrderId: r.orderId };
  }

  async cancel(venueOrderId: string, priority: 'cancel' | 'kill' = 'cancel'): Promise<void> {
    await this.o.writer.cancelOrderSafe(venueOrderId, { priority });
  }

  /**
   * PUT /orders/regular/:order_id. The writer looks a timed-out modify up in the order's history
   * before any retry; an order that ended meanwhile was not modified, and the broker is told so.
   */
  async modify(req: VenueModifyRequest): Promise<void> {
    const r = await this.o.writer.modifyOrderSafe(
      req.venueOrderId,
      {
        quantity: req.qty,
        ...(req.orderType === 'LIMIT' && req.limitPrice !== undefined ? { price: req.limitPrice / 100 } : {}),
        // Kite's rule for MARKET orders holds on a modify too (docs/venues/kite.md "Market protection").
        ...(req.orderType === 'MARKET' ? { market_protection: req.marketProtection ?? AUTO_MARKET_PROTECTION } : {}),
      },
      { priority: 'modify' },
    );
    if (r.outcome === 'terminal') {
      throw new VenueError({ venue: 'kite', kind: 'OrderException', message: `order ${req.venueOrderId} is ${r.order?.status ?? 'finished'}; not modified` });
    }
  }

  /**
   * Kite's order book (GET /orders) is the whole day's orders in every state, so it already
   * holds the history reconciliation asks for (an order that filled while the broker was down
   * is there, COMPLETE with its filled quantity); the query adds nothing to read.
   */
  async orders(_history?: HistoryQuery): Promise<VenueOrder[]> {
    // REST is judged like any push: the answer is the machine's view after hearing it.
    const out: VenueOrder[] = [];
    for (const o of await this.o.retry.read('orders', () => this.o.rest.getOrders({ priority: 'read' }))) {
      this.report(o, 'rest');
      const s = this.states.get(o.order_id);
      if (s) out.push(this.toVenueOrder(o, s));
    }
    return out;
  }

  async openOrders(): Promise<VenueOrder[]> {
    return (await this.orders()).filter((o) => o.state === 'pending' || o.state === 'open' || o.state === 'partially_filled');
  }

  async positions(): Promise<VenuePosition[]> {
    const p = await this.o.retry.read('positions', () => this.o.rest.getPositions({ priority: 'read' }));
    return p.net.map((x) => ({ symbol: `${x.exchange}:${x.tradingsymbol}`, qty: x.quantity ?? 0, avgPrice: toPaise(x.average_price) ?? 0 }));
  }

  /** Polls open orders over REST when pushes have gone quiet for a poll interval, or a placement is unconfirmed. */
  private async poll(every: number): Promise<void> {
    if (this.openOrderIds.size === 0) return;
    if (this.unconfirmed.size === 0 && this.o.clock.now() - this.lastPushTs < every) return;
    try {
      const orders = await this.o.retry.read('order poll', () => this.o.rest.getOrders({ priority: 'read' }));
      for (const o of orders) if (this.openOrderIds.has(o.order_id)) this.report(o, 'poll');
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'order poll failed');
    }
  }
}

/**
 * Kite's own order rules for one instrument (from its instrument list): whole lots, prices on the
 * tick grid. Pure, so the backtest judges an order by the same rule as the live adapter.
 */
export function kiteOrderRule(r: { tickPaise: number; lot: number } | undefined, req: VenueOrderRequest): OrderRuleViolation | undefined {
  if (!r) return { rule: 'unknown_instrument', reason: `${req.symbol} is not in Kite's instrument list`, figures: { symbol: req.symbol } };
  if (r.lot > 1 && req.qty % r.lot !== 0) {
    return { rule: 'lot_size', reason: `${req.symbol} trades in lots of ${r.lot} units; ${req.qty} is not a whole number of lots`, figures: { limit: r.lot, actual: req.qty } };
  }
  if (req.limitPrice !== undefined && r.tickPaise > 0 && req.limitPrice % r.tickPaise !== 0) {
    return { rule: 'tick_size', reason: `${req.symbol} prices move in steps of ${r.tickPaise} paise; ${req.limitPrice} is off the grid`, figures: { limit: r.tickPaise, actual: req.limitPrice } };
  }
  return undefined;
}
