import { DEFAULT_TOKEN_COST, KALSHI_WRITE } from './ratelimit.ts';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../actors/clock.ts';
import type { OrderState, Side } from '../../actors/messages.ts';
import { VenueEventHub } from '../venue.ts';
import type { HistoryQuery, VenueAdapter, VenueEvents, VenueModifyRequest, VenueOrder, VenueOrderRequest, VenuePosition, VenueTick } from '../venue.ts';
import { VenueError } from '../venue-errors.ts';
import { MICROS_PER_UNIT, ONE_CONTRACT } from './fixed.ts';
import { FillLedger } from './fill-ledger.ts';
import type { KalshiVenue, KalshiVenueEvents, PlaceOrderArgs } from './venue.ts';
import type { PlaceResult } from './orders.ts';
import { collect } from './rest.ts';
import type { KalshiFill, KalshiMarket, KalshiOrder, KalshiPosition } from './schemas.ts';
import type { BookUpdate, FillUpdate, OrderPush } from './ws-protocol.ts';

/**
 * KalshiVenue behind the broker's VenueAdapter contract. Symbols are market tickers; BUY is a
 * YES bid, SELL a YES ask; prices are YES prices in hundredths of a cent and quantities
 * hundredths of a contract, exactly as the rest of the system speaks them, so nothing here
 * converts units. The intent id is the client_order_id, which makes a timed-out create
 * resolvable by lookup (KalshiVenue.placeOrder does that).
 */
export type BookSide = 'bid' | 'ask';
type Status = KalshiOrder['status'];

/** What the adapter needs from KalshiVenue; tests hand in a fake. */
export interface KalshiPort {
  connect(): Promise<void>;
  close(): Promise<void>;
  /** The socket is up and every subscription in place. */
  isLive(): boolean;
  /** Tokens one order create costs the write bucket (the account's figure once read). */
  placeCost?(): number;
  /** Tokens one amend costs (the account's endpoint costs, or the default). */
  modifyCost?(): number;
  placeOrder(a: PlaceOrderArgs): Promise<PlaceResult>;
  cancelOrder(orderId: string, opts: { kill?: boolean }): Promise<{ orderId: string; reducedBy: number }>;
  /** Amend: new YES price and new total count (filled included); the order keeps its id. */
  amendOrder(orderId: string, a: { ticker: string; side: BookSide; price: number; count: number }): Promise<unknown>;
  subscribeBook(ticker: string): Promise<void>;
  unsubscribeBook(ticker: string): Promise<void>;
  restingOrders(): Promise<KalshiOrder[]>;
  /** Every order created at or after `minTs` (Unix seconds), whatever its status, following the cursor. */
  ordersSince(minTs: number): Promise<KalshiOrder[]>;
  /** Every fill at or after `minTs` (Unix seconds), following the cursor. */
  fillsSince(minTs: number): Promise<KalshiFill[]>;
  order(orderId: string): Promise<KalshiOrder>;
  orderFills(orderId: string): Promise<KalshiFill[]>;
  positions(): Promise<KalshiPosition[]>;
  /** GET /markets/{ticker}: the market, or a VenueError NotFound (HTTP 404) when Kalshi lists none by that ticker. */
  market?(ticker: string): Promise<KalshiMarket>;
  on<E extends 'book' | 'fill' | 'userOrder' | 'disconnected' | 'reconnected' | 'reconcile'>(event: E, fn: (...a: KalshiVenueEvents[E]) => void): void;
}

export function kalshiPort(v: KalshiVenue): KalshiPort {
  return {
    connect: () => v.connect(),
    close: () => v.close(),
    isLive: () => v.ws.status === 'live',
    placeCost: () => v.costs.of('POST', '/portfolio/events/orders'),
    modifyCost: () => v.costs.of('POST', '/portfolio/events/orders/{order_id}/amend'),
    placeOrder: (a) => v.placeOrder(a),
    cancelOrder: (id, o) => v.cancelOrder(id, o),
    amendOrder: (id, a) => v.rest.amendOrder(id, a),
    subscribeBook: (t) => v.subscribeBook(t),
    unsubscribeBook: (t) => v.unsubscribeBook(t),
    restingOrders: () => v.getOpenOrders(),
    ordersSince: (minTs) => v.rest.getAllOrders({ minTs, limit: HISTORY_PAGE }),
    fillsSince: (minTs) => v.rest.getAllFills({ minTs, limit: HISTORY_PAGE }),
    order: (id) => v.rest.getOrder(id),
    orderFills: (id) => collect((cursor) => v.rest.getFills({ orderId: id, ...(cursor ? { cursor } : {}) }), 100),
    positions: () => v.getPositions(),
    // Through the market cache: the first order on the market then costs no second read.
    market: (t) => v.markets.get(t),
    on: (event, fn) => void v.on(event, fn as never),
  };
}

/** Page size of the history reads (Kalshi allows up to 200 on every list it documents). */
const HISTORY_PAGE = 200;

export const toBookSide = (side: Side): BookSide => (side === 'BUY' ? 'bid' : 'ask');
export const toSide = (side: BookSide): Side => (side === 'bid' ? 'BUY' : 'SELL');

/** Kalshi's order status plus the filled quantity → the normalized state. */
export function kalshiState(status: Status, filled: number, qty: number): OrderState {
  if (status === 'canceled') return 'cancelled';
  if (status === 'executed' || (qty > 0 && filled >= qty)) return 'filled';
  return filled > 0 ? 'partially_filled' : 'open';
}

/**
 * Top of book → tick. `last` is the mid when both sides quote (rounded down to a whole
 * hundredth of a cent), else the only side there is; an empty book makes no tick.
 */
export function bookTick(b: BookUpdate): VenueTick | undefined {
  const bid = b.bid?.price;
  const ask = b.ask?.price;
  const last = bid !== undefined && ask !== undefined ? Math.floor((bid + ask) / 2) : bid ?? ask;
  if (last === undefined) return undefined;
  const t: VenueTick = { symbol: b.ticker, ts: b.tsMs, last };
  if (bid !== undefined) t.bid = bid;
  if (ask !== undefined) t.ask = ask;
  return t;
}

/**
 * Net position: hundredths of a contract; average price (hundredths of a cent per contract)
 * from the exposure in micro-dollars: micros × ONE_CONTRACT / (MICROS_PER_UNIT × qty), rounded.
 */
export function toVenuePosition(p: KalshiPosition): VenuePosition {
  const qty = p.position;
  const avgPrice = qty === 0 ? 0 : Math.round((Math.abs(p.exposureMicros) * ONE_CONTRACT) / (MICROS_PER_UNIT * Math.abs(qty)));
  return { symbol: p.ticker, qty, avgPrice };
}

/** A push whose status Kalshi could tell (an `unknown` one is read over REST instead). */
type KnownPush = Omit<OrderPush, 'status'> & { status: Status };

type Info = { orderId: string; intentId?: string; symbol: string; side: BookSide; qty: number; limitPrice: number; status: Status };

export type KalshiAdapterOptions = {
  port: KalshiPort;
  clock: Clock;
  log: Logger;
  /** REST poll of our resting orders when the fill and user_orders channels have been quiet this long. */
  pollIntervalMs?: number;
  /**
   * A push about an order orch does not know (placed outside orch, or a fill of one) asks for a
   * reconciliation this long after the first such push: what comes in the meantime (the fill
   * behind an order update) is read by the same run.
   */
  reconcileDelayMs?: number;
  /** An order update showing fills whose trades the fill channel has not brought yet waits this long for them, then reads them over REST. */
  fillWaitMs?: number;
};

/** Default of KalshiAdapterOptions.reconcileDelayMs. */
const RECONCILE_DELAY_MS = 500;
/** Default of KalshiAdapterOptions.fillWaitMs. */
const FILL_WAIT_MS = 1_000;

export class KalshiAdapter implements VenueAdapter {
  readonly venue = 'kalshi' as const;
  readonly placeCategory = KALSHI_WRITE;
  get placeCost(): number {
    return this.o.port.placeCost?.() ?? DEFAULT_TOKEN_COST;
  }
  /** An amend spends the same write bucket as a place. */
  readonly modifyCategory = KALSHI_WRITE;
  get modifyCost(): number {
    return this.o.port.modifyCost?.() ?? DEFAULT_TOKEN_COST;
  }
  private readonly events = new VenueEventHub((event, err) => this.o.log.error({ event, err }, 'a kalshi venue listener threw'));
  private readonly ledger = new FillLedger();
  private readonly infos = new Map<string, Info>();
  /** Orders whose create is in flight, by client_order_id: a fill can beat the create response. */
  private readonly pending = new Map<string, Omit<Info, 'orderId'>>();
  /**
   * Intent ids of ours (the log's, and every place since). A client_order_id outside it is
   * another app's or a hand-placed order's: reported by reconciliation, never adopted.
   */
  private readonly ours = new Set<string>();
  private readonly wanted = new Set<string>();
  private readonly lastTick = new Map<string, string>();
  private pollTimer: TimerHandle | undefined;
  private lastPushTs = 0;
  /** Orders with an amend or a cancel of ours under way: a REST read that began before the amend answered may show the old shape; a cancel push is ours. */
  private readonly modifying = new Set<string>();
  private readonly cancelling = new Set<string>();
  /** Order updates waiting for the trades of their fills (the fill channel carries each trade's price). */
  private readonly waiting = new Map<string, { push: KnownPush; timer: TimerHandle }>();
  private reconcileTimer: TimerHandle | undefined;

  constructor(private readonly o: KalshiAdapterOptions) {}

  on<E extends keyof VenueEvents>(event: E, fn: VenueEvents[E]): void {
    this.events.on(event, fn);
  }

  async start(): Promise<void> {
    const p = this.o.port;
    p.on('book', (b) => this.onBook(b));
    p.on('fill', (f) => this.onFill(f));
    p.on('userOrder', (o) => this.onOrderPush(o));
    p.on('disconnected', (e) => this.events.emit('disconnected', e.reason));
    p.on('reconnected', () => this.events.emit('reconnected'));
    p.on('reconcile', () => this.events.emit('reconcile'));
    await p.connect();
    const every = this.o.pollIntervalMs ?? 2000;
    this.pollTimer = this.o.clock.setInterval(() => void this.poll(every), every);
    this.o.log.info('kalshi adapter started');
  }

  async stop(): Promise<void> {
    this.o.clock.clearInterval(this.pollTimer);
    this.o.clock.clearTimeout(this.reconcileTimer);
    this.reconcileTimer = undefined;
    for (const w of this.waiting.values()) this.o.clock.clearTimeout(w.timer);
    this.waiting.clear();
    await this.o.port.close();
  }

  connected(): boolean {
    return this.o.port.isLive();
  }

  /**
   * Whether Kalshi lists this market ticker: GET /markets/{ticker} answers 404 for one it does
   * not (docs/venues/kalshi.md, "Markets"). A closed or settled market is still listed, so it
   * is known. Undefined when the venue cannot be asked now (network, 5xx after the retries):
   * the check cannot tell, and the registry is not refused for the venue's trouble.
   */
  async knows(symbol: string): Promise<boolean | undefined> {
    if (!this.o.port.market) return undefined;
    try {
      await this.o.port.market(symbol);
      return true;
    } catch (e) {
      if (e instanceof VenueError && e.kind === 'NotFound') return false;
      this.o.log.warn({ symbol, err: (e as Error).message }, 'kalshi market could not be looked up: not checked');
      return undefined;
    }
  }

  async setInstruments(symbols: readonly string[]): Promise<void> {
    const next = new Set(symbols);
    for (const t of [...this.wanted]) {
      if (next.has(t)) continue;
      this.wanted.delete(t);
      this.lastTick.delete(t);
      await this.o.port.unsubscribeBook(t).catch((err: Error) => this.o.log.warn({ symbol: t, err: err.message }, 'kalshi unsubscribe failed'));
    }
    for (const t of next) {
      if (this.wanted.has(t)) continue;
      // Wanted before asking: the snapshot can arrive before the subscribe call resolves.
      this.wanted.add(t);
      try {
        await this.o.port.subscribeBook(t);
      } catch (err) {
        this.wanted.delete(t);
        this.o.log.error({ symbol: t, err: (err as Error).message }, 'kalshi market not subscribed');
        // Drop the reference, or every later resubscribe would carry the bad ticker and fail too.
        await this.o.port.unsubscribeBook(t).catch(() => undefined);
      }
    }
  }

  private onBook(b: BookUpdate): void {
    if (!this.wanted.has(b.ticker)) return;
    const t = bookTick(b);
    if (!t) return;
    // Deltas below the top of the book change nothing a tick says; size at the touch does.
    const key = `${b.bid?.price ?? ''}x${b.bid?.size ?? ''}|${b.ask?.price ?? ''}x${b.ask?.size ?? ''}`;
    if (this.lastTick.get(t.symbol) === key) return;
    this.lastTick.set(t.symbol, key);
    this.events.emit('tick', t);
  }

  private onFill(f: FillUpdate): void {
    this.lastPushTs = this.o.clock.now();
    const info = this.infos.get(f.orderId) ?? (f.clientOrderId ? this.bind(f.clientOrderId, f.orderId) : undefined);
    if (!this.ledger.trade(f.orderId, f.tradeId, { count: f.count, price: f.price })) return;
    if (!info) {
      // Another app's or a hand-placed order traded (a position nobody here knows of), or one of
      // ours this process has not met yet: reconciliation says which, and what it means.
      this.askReconcile('a fill of an order orch does not know', f.orderId);
      return;
    }
    const w = this.waiting.get(f.orderId);
    if (w && this.ledger.filled(f.orderId) >= w.push.filledCount) {
      this.o.clock.clearTimeout(w.timer);
      this.waiting.delete(f.orderId);
      this.applyPush(info, w.push);
      return;
    }
    this.report(info);
  }

  /**
   * An order of the account changed at the exchange (the user_orders channel), by us or by
   * anyone else: the website, another API client. Ours: its state and shape follow at once (a
   * cancel there is a cancel here, the strategy is told); a new shape is taken, and the broker has
   * reconciliation judge it (order_changed, under the persistent-difference rule, when no intent
   * asked for it). Not ours: reconciliation reports it as an order or a position nobody here placed.
   */
  private onOrderPush(o: OrderPush): void {
    this.lastPushTs = this.o.clock.now();
    if (o.status === 'unknown') {
      void this.refresh(o.orderId).catch((err: Error) => this.o.log.warn({ orderId: o.orderId, err: err.message }, 'kalshi order in an unknown state could not be read'));
      return;
    }
    this.onKnownPush(o as KnownPush);
  }

  private onKnownPush(o: KnownPush): void {
    let info = this.infos.get(o.orderId) ?? (o.clientOrderId ? this.bind(o.clientOrderId, o.orderId) : undefined);
    if (!info) {
      if (!o.clientOrderId || !this.ours.has(o.clientOrderId)) {
        this.askReconcile('an order orch did not place changed at the venue', o.orderId);
        return;
      }
      info = { orderId: o.orderId, intentId: o.clientOrderId, symbol: o.ticker, side: o.side, qty: o.filledCount + o.remainingCount, limitPrice: o.price, status: 'resting' };
      this.infos.set(o.orderId, info);
    }
    if (o.filledCount > this.ledger.filled(o.orderId)) return this.awaitTrades(o);
    this.applyPush(info, o);
  }

  private applyPush(info: Info, o: KnownPush): void {
    const before = info.status;
    this.ledger.cumulative(o.orderId, o.filledCount);
    // A new price or quantity goes out with the order; the broker asks reconciliation to judge
    // it against the shapes orch asked for (OrderUpdates.outsideChange).
    this.take(info, o);
    const v = this.toVenueOrder(info);
    if (info.status === 'canceled' && before !== 'canceled' && !this.cancelling.has(o.orderId)) {
      v.message = `cancelled at the venue${o.reason ? ` (${o.reason})` : ''}, not by orch`;
    }
    this.events.emit('order', v);
  }

  /** The fill channel brings each trade with its price; a filled count alone has none. Wait for them, then read them. */
  private awaitTrades(o: KnownPush): void {
    const w = this.waiting.get(o.orderId);
    if (w) {
      w.push = o;
      return;
    }
    const timer = this.o.clock.setTimeout(() => {
      this.waiting.delete(o.orderId);
      this.refresh(o.orderId).catch((err: Error) => this.o.log.warn({ orderId: o.orderId, err: err.message }, 'kalshi order fills could not be read'));
    }, this.o.fillWaitMs ?? FILL_WAIT_MS);
    this.waiting.set(o.orderId, { push: o, timer });
  }

  /** One reconciliation for a burst of such pushes (its reads are not free). */
  private askReconcile(why: string, orderId: string): void {
    this.o.log.info({ venue: 'kalshi', orderId, why }, 'kalshi: asking for a reconciliation');
    if (this.reconcileTimer) return;
    this.reconcileTimer = this.o.clock.setTimeout(() => {
      this.reconcileTimer = undefined;
      this.events.emit('reconcile', 'venue_update');
    }, this.o.reconcileDelayMs ?? RECONCILE_DELAY_MS);
  }

  /**
   * Takes the exchange's view of an order (a push or a REST read). The status only moves
   * forward; a resting order's shape is the exchange's: its YES price, and its quantity as the
   * most it can fill, filled plus remaining (an amend's `count`; a decrease lowers it).
   */
  private take(info: Info, o: { status: Status; price: number; filledCount: number; remainingCount: number }): void {
    if (o.status !== 'resting') info.status = o.status;
    else if (info.status === 'resting') {
      info.qty = o.filledCount + o.remainingCount;
      info.limitPrice = o.price;
    }
  }

  private bind(clientOrderId: string, orderId: string): Info | undefined {
    const p = this.pending.get(clientOrderId);
    if (!p) return undefined;
    this.pending.delete(clientOrderId);
    const info: Info = { ...p, orderId };
    this.infos.set(orderId, info);
    return info;
  }

  private toVenueOrder(i: Info): VenueOrder {
    const filled = this.ledger.filled(i.orderId);
    if (i.status === 'resting' && filled >= i.qty) i.status = 'executed';
    const v: VenueOrder = {
      venueOrderId: i.orderId, symbol: i.symbol, side: toSide(i.side), qty: i.qty, filledQty: filled,
      limitPrice: i.limitPrice, state: kalshiState(i.status, filled, i.qty), venueStatus: i.status, ts: this.o.clock.now(),
    };
    if (i.intentId) v.intentId = i.intentId;
    const avg = this.ledger.avgPrice(i.orderId);
    if (avg !== undefined && filled > 0) v.avgPrice = avg;
    return v;
  }

  private report(i: Info): void {
    this.events.emit('order', this.toVenueOrder(i));
  }

  rememberIntent(intentId: string): void {
    this.ours.add(intentId);
  }

  async place(req: VenueOrderRequest, _priority: 'place' | 'kill', sendAfter: Promise<void>): Promise<{ venueOrderId: string; duplicate?: boolean }> {
    if (req.orderType !== 'LIMIT' || req.limitPrice === undefined) {
      throw new VenueError({ venue: 'kalshi', kind: 'InputException', message: 'kalshi takes limit orders only: give a limit price (an immediate_or_cancel limit is a market order with a cap)' });
    }
    this.ours.add(req.intentId);
    await sendAfter;
    const side = toBookSide(req.side);
    this.pending.set(req.intentId, { intentId: req.intentId, symbol: req.symbol, side, qty: req.qty, limitPrice: req.limitPrice, status: 'resting' });
    let r: PlaceResult;
    try {
      r = await this.o.port.placeOrder({ ticker: req.symbol, side, price: req.limitPrice, count: req.qty, clientOrderId: req.intentId });
    } catch (e) {
      this.pending.delete(req.intentId);
      throw e;
    }
    const info = this.infos.get(r.orderId) ?? this.bind(req.intentId, r.orderId)!;
    this.ledger.cumulative(r.orderId, r.filledCount);
    // Nothing left and not all filled: the exchange cancelled the rest (e.g. self-trade prevention).
    if (r.remainingCount === 0) info.status = this.ledger.filled(r.orderId) >= info.qty ? 'executed' : 'canceled';
    this.report(info);
    return r.recovered ? { venueOrderId: r.orderId, duplicate: true } : { venueOrderId: r.orderId };
  }

  async cancel(venueOrderId: string, priority: 'cancel' | 'kill' = 'cancel'): Promise<void> {
    this.cancelling.add(venueOrderId);
    try {
      await this.o.port.cancelOrder(venueOrderId, { kill: priority === 'kill' });
    } catch (e) {
      // Most often the order filled or was cancelled meanwhile: learn its state, then say no.
      await this.refresh(venueOrderId).catch(() => undefined);
      throw e;
    } finally {
      this.cancelling.delete(venueOrderId);
    }
    const info = this.infos.get(venueOrderId);
    if (!info) return;
    info.status = 'canceled';
    this.report(info);
  }

  /**
   * POST /portfolio/events/orders/:id/amend (Kalshi amends price and count together). An amend
   * whose answer is lost (timeout, reset) is looked up, never simply sent again: the order shows
   * the new price and count if it landed.
   */
  async modify(req: VenueModifyRequest): Promise<void> {
    if (req.orderType !== 'LIMIT' || req.limitPrice === undefined) {
      throw new VenueError({ venue: 'kalshi', kind: 'InputException', message: 'kalshi orders are limit orders: a modify needs a limit price' });
    }
    const want = { ticker: req.symbol, side: toBookSide(req.side), price: req.limitPrice, count: req.qty };
    this.modifying.add(req.venueOrderId);
    try {
      await this.o.port.amendOrder(req.venueOrderId, want);
    } catch (e) {
      const now = await this.o.port.order(req.venueOrderId).catch(() => undefined);
      const landed = now !== undefined && now.price === want.price && now.initialCount === want.count;
      if (!landed) {
        this.modifying.delete(req.venueOrderId);
        if (now) this.report(await this.absorb(now));
        throw e;
      }
    } finally {
      this.modifying.delete(req.venueOrderId);
    }
    const info = this.infos.get(req.venueOrderId);
    if (!info) return;
    info.qty = req.qty;
    info.limitPrice = req.limitPrice;
    this.report(info);
  }

  private async refresh(orderId: string): Promise<void> {
    const info = await this.absorb(await this.o.port.order(orderId));
    this.report(info);
  }

  /** Merges a REST view of an order; fetches its trades when REST knows of fills we never saw. */
  private async absorb(o: KalshiOrder): Promise<Info> {
    let info = this.infos.get(o.orderId) ?? (o.clientOrderId ? this.bind(o.clientOrderId, o.orderId) : undefined);
    if (!info) {
      info = { orderId: o.orderId, symbol: o.ticker, side: o.side, qty: o.initialCount, limitPrice: o.price, status: o.status };
      if (o.clientOrderId && this.ours.has(o.clientOrderId)) info.intentId = o.clientOrderId;
      this.infos.set(o.orderId, info);
    }
    // A read that began before an amend of ours answered may show the old shape: that amend's answer decides.
    if (!this.modifying.has(o.orderId)) this.take(info, o);
    else if (o.status !== 'resting') info.status = o.status;
    this.ledger.cumulative(o.orderId, o.filledCount);
    if (this.ledger.missingTrades(o.orderId)) {
      for (const f of await this.o.port.orderFills(o.orderId)) this.ledger.trade(o.orderId, f.tradeId, { count: f.count, price: f.price });
    }
    return info;
  }

  /**
   * Our resting orders plus every order we still think is live, each merged with what we saw
   * pushed. With `history` (reconciliation), also what happened while nobody was listening:
   * orders created since (an in-flight write is found by its client_order_id), orders that
   * traded since (from /portfolio/fills), and each unfinished order of the log, looked up by id.
   */
  async orders(history?: HistoryQuery): Promise<VenueOrder[]> {
    const p = this.o.port;
    const found = new Map<string, Info>();
    for (const o of await p.restingOrders()) found.set(o.orderId, await this.absorb(o));
    if (history) {
      for (const o of history.open) this.ours.add(o.intentId);
      const minTs = Math.max(0, Math.floor(history.sinceMs / 1000));
      for (const o of await p.ordersSince(minTs)) if (!found.has(o.orderId)) found.set(o.orderId, await this.absorb(o));
      const traded = new Set((await p.fillsSince(minTs)).map((f) => f.orderId));
      const wanted = [...traded, ...history.open.flatMap((o) => (o.venueOrderId ? [o.venueOrderId] : []))];
      for (const id of wanted) {
        if (found.has(id)) continue;
        const o = await this.lookup(id);
        if (o) found.set(id, await this.absorb(o));
      }
    }
    for (const info of [...this.infos.values()]) {
      if (info.status !== 'resting' || found.has(info.orderId)) continue;
      const o = await this.lookup(info.orderId);
      if (o) found.set(info.orderId, await this.absorb(o));
    }
    return [...found.values()].map((i) => this.toVenueOrder(i));
  }

  /** One order by id; undefined when the venue has no such order (reconciliation reports it missing). */
  private async lookup(orderId: string): Promise<KalshiOrder | undefined> {
    try {
      return await this.o.port.order(orderId);
    } catch (e) {
      if (e instanceof VenueError && e.kind === 'NotFound') return undefined;
      throw e;
    }
  }

  async openOrders(): Promise<VenueOrder[]> {
    return (await this.orders()).filter((o) => o.state === 'pending' || o.state === 'open' || o.state === 'partially_filled');
  }

  async positions(): Promise<VenuePosition[]> {
    return (await this.o.port.positions()).map(toVenuePosition);
  }

  /** The fallback when the fill channel has gone quiet while we have orders resting. */
  private async poll(every: number): Promise<void> {
    const live = [...this.infos.values()].some((i) => i.status === 'resting');
    if (!live || this.o.clock.now() - this.lastPushTs < every) return;
    try {
      for (const o of await this.orders()) this.events.emit('order', o);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'kalshi order poll failed');
    }
  }
}
