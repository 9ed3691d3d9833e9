import { EventEmitter } from 'node:events';
import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../../actors/clock.ts';
import { COUNT_PER_CONTRACT, MICROS_PER_DOLLAR, PRICE_PER_DOLLAR, complement, costMicros } from './units.ts';

const isValidPrice = (p: number) => Number.isSafeInteger(p) && p > 0 && p < PRICE_PER_DOLLAR;
const isValidCount = (c: number) => Number.isSafeInteger(c) && c > 0;

/**
 * The built-in Kalshi exchange's matching engine: one YES book per market, price-time
 * priority, fills at the resting order's price. All prices are YES prices in hundredths of a
 * cent, all counts hundredths of a contract, cash and fees in 1e-6 dollars (price × count) so
 * that fractional contracts never round.
 */
export type SimSide = 'bid' | 'ask';
export type SimOrderStatus = 'resting' | 'canceled' | 'executed';
export type TimeInForce = 'good_till_canceled' | 'immediate_or_cancel' | 'fill_or_kill';

export type SimOrder = {
  orderId: string;
  clientOrderId: string;
  ticker: string;
  side: SimSide;
  price: number;
  initialCount: number;
  filled: number;
  remaining: number;
  status: SimOrderStatus;
  owner: 'user' | 'mm';
  createdMs: number;
  updatedMs: number;
  stp: 'taker_at_cross' | 'maker';
  /** time priority */
  seq: number;
  /** What filled so far cost, and its fees, as taker and as maker: 1e-6 dollars (the order's `*_fill_cost_dollars`, `*_fees_dollars`). */
  takerCostMicros: number;
  makerCostMicros: number;
  takerFeesMicros: number;
  makerFeesMicros: number;
  /** Why the order last changed, in the vocabulary of the `user_orders` channel; absent for a plain create or cancel. */
  lastUpdateReason?: UpdateReason;
};

/**
 * `last_update_reason` of Kalshi's `user_orders` channel (docs/venues/kalshi.md, "User orders"):
 * the subset this exchange can cause.
 */
export type UpdateReason = 'Decrease' | 'Amend' | 'SelfTradeCancel' | 'Trade' | 'PostOnlyCrossCancel';

export type SimFill = {
  fillId: string;
  tradeId: string;
  orderId: string;
  clientOrderId: string;
  ticker: string;
  side: SimSide;
  price: number;
  count: number;
  isTaker: boolean;
  tsMs: number;
  postPosition: number;
  /** the exchange fee of this fill, 1e-6 dollars */
  feeMicros: number;
};

/** A change of resting quantity at one level, as the orderbook_delta channel reports it. */
export type BookChange = { ticker: string; side: 'yes' | 'no'; price: number; delta: number; clientOrderId?: string };
export type SimTrade = { tradeId: string; ticker: string; price: number; count: number; takerSide: 'yes' | 'no'; tsMs: number };

export type SimMarket = {
  ticker: string;
  /** Kalshi's market UUID (`market_id`); derived from the ticker so a seeded run is reproducible */
  id?: string;
  eventTicker: string;
  seriesTicker: string;
  title: string;
  status: 'active' | 'closed';
  openMs: number;
  closeMs: number;
  lastPrice: number;
  volume: number;
  lastTradeSize?: number;
  /** notional traded, 1e-6 dollars */
  tradedMicros?: number;
};

/** traded, realized and fees in 1e-6 dollars */
export type Position = { position: number; traded: number; realized: number; fees: number; updatedMs: number };

export class SimError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/**
 * `order`: a user order as it stands after each change (created, traded, cancelled, decreased,
 * amended), whoever asked for it; what the `user_orders` channel reports.
 */
type EngineEvents = { book: [BookChange]; fill: [SimFill]; trade: [SimTrade]; order: [SimOrder] };

export type PlaceRequest = {
  ticker: string;
  side: SimSide;
  price: number;
  count: number;
  clientOrderId?: string;
  timeInForce: TimeInForce;
  postOnly?: boolean;
  stp?: 'taker_at_cross' | 'maker';
};

export class SimEngine extends EventEmitter<EngineEvents> {
  readonly markets = new Map<string, SimMarket>();
  private readonly bids = new Map<string, SimOrder[]>();
  private readonly asks = new Map<string, SimOrder[]>();
  readonly orders = new Map<string, SimOrder>();
  readonly userFills: SimFill[] = [];
  readonly positions = new Map<string, Position>();
  /** 1e-6 dollars */
  cashMicro = 1_000 * MICROS_PER_DOLLAR;
  private nextSeq = 1;

  constructor(private readonly clock: Clock) {
    super();
  }

  addMarket(m: SimMarket): void {
    this.markets.set(m.ticker, { ...m, id: m.id ?? marketUuid(m.ticker) });
    this.bids.set(m.ticker, []);
    this.asks.set(m.ticker, []);
  }

  /** YES bids and NO bids (= YES asks at 1 − p), aggregated and sorted ascending, best last. */
  levels(ticker: string): { yes: Array<[number, number]>; no: Array<[number, number]> } {
    const agg = (orders: SimOrder[], toSidePrice: (p: number) => number) => {
      const m = new Map<number, number>();
      for (const o of orders) m.set(toSidePrice(o.price), (m.get(toSidePrice(o.price)) ?? 0) + o.remaining);
      return [...m.entries()].sort((a, b) => a[0] - b[0]);
    };
    return { yes: agg(this.bids.get(ticker) ?? [], (p) => p), no: agg(this.asks.get(ticker) ?? [], complement) };
  }

  top(ticker: string): { bid?: [number, number]; ask?: [number, number] } {
    const { yes, no } = this.levels(ticker);
    const b = yes.at(-1);
    const a = no.at(-1);
    const out: { bid?: [number, number]; ask?: [number, number] } = {};
    if (b) out.bid = b;
    if (a) out.ask = [complement(a[0]), a[1]];
    return out;
  }

  clientOrderIdInUse(id: string): boolean {
    for (const o of this.orders.values()) if (o.owner === 'user' && o.clientOrderId === id) return true;
    return false;
  }

  place(req: PlaceRequest, owner: 'user' | 'mm' = 'user'): SimOrder {
    const market = this.markets.get(req.ticker);
    if (!market) throw new SimError(404, 'market_not_found', `market ${req.ticker} not found`);
    if (market.status !== 'active') throw new SimError(400, 'market_closed', `market ${req.ticker} is not open`);
    if (!isValidPrice(req.price) || req.price % 100 !== 0) throw new SimError(400, 'invalid_order', 'price must be on the $0.01 grid between 0.01 and 0.99');
    if (!isValidCount(req.count)) throw new SimError(400, 'invalid_order', 'count must be at least 0.01');
    if (owner === 'user' && req.clientOrderId && this.clientOrderIdInUse(req.clientOrderId)) {
      throw new SimError(409, 'order_already_exists', 'Order with this client_order_id already exists');
    }
    const now = this.clock.now();
    const order: SimOrder = {
      orderId: randomUUID(), // Kalshi's ids are UUIDs; a counter would repeat after a restart and merge two orders in the log
      clientOrderId: req.clientOrderId ?? '',
      ticker: req.ticker, side: req.side, price: req.price,
      initialCount: req.count, filled: 0, remaining: req.count, status: 'resting', owner,
      createdMs: now, updatedMs: now, stp: req.stp ?? 'taker_at_cross', seq: this.nextSeq++,
      takerCostMicros: 0, makerCostMicros: 0, takerFeesMicros: 0, makerFeesMicros: 0,
    };
    this.orders.set(order.orderId, order);
    return this.notify(this.enter(order, req));
  }

  private enter(order: SimOrder, req: PlaceRequest): SimOrder {
    const crossable = this.crossableCount(order);
    if (req.postOnly && crossable > 0) return this.finish(order, 'canceled', 'PostOnlyCrossCancel');
    if (req.timeInForce === 'fill_or_kill' && crossable < order.remaining) return this.finish(order, 'canceled');
    this.match(order);
    if (order.remaining === 0) return this.finish(order, 'executed');
    if (order.status !== 'resting' || req.timeInForce !== 'good_till_canceled') return this.finish(order, 'canceled');
    this.rest(order);
    return order;
  }

  cancel(orderId: string, reason?: UpdateReason): { order: SimOrder; reducedBy: number } {
    const o = this.userOrder(orderId);
    const reducedBy = o.remaining;
    this.unrest(o, o.remaining);
    o.remaining = 0;
    // A plain cancel has no reason in the channel's vocabulary: the last one no longer applies.
    delete o.lastUpdateReason;
    this.notify(this.finish(o, 'canceled', reason));
    return { order: o, reducedBy };
  }

  /**
   * Takes a market maker's resting order off the book and forgets it: a backtest replaces its
   * quotes with the data's at every tick. A user's order is never touched here.
   */
  withdrawMaker(orderId: string): void {
    const o = this.orders.get(orderId);
    if (!o || o.owner !== 'mm') return;
    if (o.status === 'resting') {
      this.unrest(o, o.remaining);
      o.remaining = 0;
      this.finish(o, 'canceled');
    }
    this.orders.delete(orderId);
  }

  decrease(orderId: string, d: { reduceBy?: number; reduceTo?: number }): SimOrder {
    const o = this.userOrder(orderId);
    const to = d.reduceTo !== undefined ? d.reduceTo : o.remaining - (d.reduceBy ?? 0);
    if (!Number.isSafeInteger(to) || to < 0 || to > o.remaining) throw new SimError(400, 'invalid_order', 'decrease out of range');
    this.unrest(o, o.remaining - to);
    o.remaining = to;
    o.updatedMs = this.clock.now();
    o.lastUpdateReason = 'Decrease';
    if (to === 0) this.finish(o, 'canceled', 'Decrease');
    return this.notify(o);
  }

  /** Kalshi amend: `count` is the new total (filled + remaining); a price change loses time priority. */
  amend(orderId: string, a: { price: number; count: number; updatedClientOrderId?: string }): SimOrder {
    const o = this.userOrder(orderId);
    if (!isValidPrice(a.price) || a.price % 100 !== 0) throw new SimError(400, 'invalid_order', 'bad price');
    const remaining = a.count - o.filled;
    if (remaining <= 0) throw new SimError(400, 'invalid_order', 'count must exceed the filled count');
    this.unrest(o, o.remaining);
    o.remaining = 0;
    if (a.updatedClientOrderId) o.clientOrderId = a.updatedClientOrderId;
    const keepsPriority = a.price === o.price && remaining <= o.remaining;
    o.price = a.price;
    o.remaining = remaining;
    o.initialCount = a.count;
    if (!keepsPriority) o.seq = this.nextSeq++;
    o.updatedMs = this.clock.now();
    o.lastUpdateReason = 'Amend';
    this.match(o);
    if (o.remaining === 0) return this.notify(this.finish(o, 'executed'));
    this.rest(o);
    return this.notify(o);
  }

  position(ticker: string): Position {
    let p = this.positions.get(ticker);
    if (!p) {
      p = { position: 0, traded: 0, realized: 0, fees: 0, updatedMs: this.clock.now() };
      this.positions.set(ticker, p);
    }
    return p;
  }

  private userOrder(orderId: string): SimOrder {
    const o = this.orders.get(orderId);
    if (!o || o.owner !== 'user') throw new SimError(404, 'not_found', `order ${orderId} not found`);
    if (o.status !== 'resting') throw new SimError(400, 'invalid_order', `order ${orderId} is ${o.status}`);
    return o;
  }

  private finish(o: SimOrder, status: SimOrderStatus, reason?: UpdateReason): SimOrder {
    o.status = status;
    o.updatedMs = this.clock.now();
    if (reason) o.lastUpdateReason = reason;
    return o;
  }

  /** Tells the `order` listeners where a user order stands now; a market maker's orders are nobody's. */
  private notify(o: SimOrder): SimOrder {
    // A copy per change only when someone listens (the backtest's engine has no socket to tell).
    if (o.owner === 'user' && this.listenerCount('order') > 0) this.emit('order', { ...o });
    return o;
  }

  private opposite(o: SimOrder): SimOrder[] {
    return (o.side === 'bid' ? this.asks : this.bids).get(o.ticker) ?? [];
  }

  private crosses(taker: SimOrder, maker: SimOrder): boolean {
    return taker.side === 'bid' ? maker.price <= taker.price : maker.price >= taker.price;
  }

  private crossableCount(o: SimOrder): number {
    return this.opposite(o).filter((m) => this.crosses(o, m)).reduce((s, m) => s + m.remaining, 0);
  }

  private match(taker: SimOrder): void {
    const book = this.opposite(taker);
    while (taker.remaining > 0 && book[0] && this.crosses(taker, book[0])) {
      const maker = book[0];
      if (maker.owner === 'user' && taker.owner === 'user') {
        if (taker.stp === 'taker_at_cross') {
          taker.status = 'canceled';
          taker.lastUpdateReason = 'SelfTradeCancel';
          return;
        }
        this.cancel(maker.orderId, 'SelfTradeCancel');
        continue;
      }
      const qty = Math.min(taker.remaining, maker.remaining);
      this.unrest(maker, qty);
      maker.remaining -= qty;
      taker.remaining -= qty;
      maker.filled += qty;
      taker.filled += qty;
      maker.updatedMs = taker.updatedMs = this.clock.now();
      if (maker.remaining === 0) maker.status = 'executed';
      taker.lastUpdateReason = maker.lastUpdateReason = 'Trade';
      this.trade(taker, maker, qty);
      // The taker is reported once its order is placed (or amended) in full; a resting order that was hit, now.
      this.notify(maker);
    }
  }

  private trade(taker: SimOrder, maker: SimOrder, qty: number): void {
    const tsMs = this.clock.now();
    const tradeId = randomUUID();
    const market = this.markets.get(taker.ticker)!;
    market.lastPrice = maker.price;
    market.volume += qty;
    market.lastTradeSize = qty;
    market.tradedMicros = (market.tradedMicros ?? 0) + costMicros(maker.price, qty);
    this.emit('trade', { tradeId, ticker: taker.ticker, price: maker.price, count: qty, takerSide: taker.side === 'bid' ? 'yes' : 'no', tsMs });
    for (const [o, isTaker] of [[taker, true], [maker, false]] as const) {
      if (o.owner !== 'user') continue;
      const feeMicros = isTaker ? takerFeeMicros(maker.price, qty) : 0;
      const post = this.settle(o, maker.price, qty, feeMicros);
      const cost = costMicros(o.side === 'bid' ? maker.price : complement(maker.price), qty);
      if (isTaker) {
        o.takerCostMicros += cost;
        o.takerFeesMicros += feeMicros;
      } else {
        o.makerCostMicros += cost;
        o.makerFeesMicros += feeMicros;
      }
      const fill: SimFill = {
        fillId: `${tradeId}-${isTaker ? 't' : 'm'}`, tradeId, orderId: o.orderId, clientOrderId: o.clientOrderId,
        ticker: o.ticker, side: o.side, price: maker.price, count: qty, isTaker, tsMs, postPosition: post, feeMicros,
      };
      this.userFills.push(fill);
      this.emit('fill', fill);
    }
  }

  /** Buying YES costs p, selling YES is buying NO at 1 − p; a YES and a NO held together pay $1 back. */
  private settle(o: SimOrder, price: number, qty: number, feeMicros: number): number {
    const p = this.position(o.ticker);
    const cost = costMicros(o.side === 'bid' ? price : complement(price), qty);
    this.cashMicro -= cost + feeMicros;
    p.fees += feeMicros;
    const before = p.position;
    p.position += o.side === 'bid' ? qty : -qty;
    const netted = Math.sign(before) !== 0 && Math.sign(before) !== Math.sign(o.side === 'bid' ? qty : -qty)
      ? Math.min(Math.abs(before), qty) : 0;
    this.cashMicro += netted * (MICROS_PER_DOLLAR / COUNT_PER_CONTRACT);
    p.traded += costMicros(price, qty);
    p.updatedMs = this.clock.now();
    return p.position;
  }

  private rest(o: SimOrder): void {
    const list = (o.side === 'bid' ? this.bids : this.asks).get(o.ticker)!;
    list.push(o);
    // bids best (highest) first, asks best (lowest) first, then time
    list.sort((a, b) => (o.side === 'bid' ? b.price - a.price : a.price - b.price) || a.seq - b.seq);
    this.changed(o, o.remaining);
  }

  /** Removes `qty` of `o` from the visible book (the order leaves the list once empty). */
  private unrest(o: SimOrder, qty: number): void {
    const list = (o.side === 'bid' ? this.bids : this.asks).get(o.ticker)!;
    const i = list.indexOf(o);
    if (i < 0) return;
    if (qty >= o.remaining) list.splice(i, 1);
    if (qty > 0) this.changed(o, -qty);
  }

  private changed(o: SimOrder, delta: number): void {
    const change: BookChange = o.side === 'bid'
      ? { ticker: o.ticker, side: 'yes', price: o.price, delta }
      : { ticker: o.ticker, side: 'no', price: complement(o.price), delta };
    if (o.owner === 'user' && o.clientOrderId) change.clientOrderId = o.clientOrderId;
    this.emit('book', change);
  }
}

/**
 * The exchange's taker fee: 0.07 × contracts × P × (1 − P), rounded up to a micro-dollar (the
 * quadratic fee of docs/venues/kalshi.md; makers pay none). It makes fees like "0.005612" that a
 * client must keep exactly.
 */
export function takerFeeMicros(price: number, count: number): number {
  const raw = 7n * BigInt(count) * BigInt(price) * BigInt(PRICE_PER_DOLLAR - price);
  const per = 1_000_000n;
  return Number(raw / per + (raw % per === 0n ? 0n : 1n));
}

/** A stable UUID-shaped id for a ticker (Kalshi's `market_id` is a UUID). */
export function marketUuid(ticker: string): string {
  const h = createHash('sha256').update(ticker).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
