/**
 * The matching engine: orders walk Kite's status sequence, rest until the seeded price path
 * (or setPrice) crosses them, and fill against the top of the simulated book.
 */
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../../actors/clock.ts';
import { inputError, KiteHttpError } from './errors.ts';
import { isDerivative, tickPaiseOf, type InstrumentIndex, type SimInstrument } from './instruments.ts';
import type { Market, MarketState } from './market.ts';
import {
  orderWire, TERMINAL, type KiteOrderRecord, type KiteTradeRecord, type OrderStatus, type OrderType,
  type Side, type SimOrder, type Validity, type Variety,
} from './order-wire.ts';
import { PositionBook, type Product } from './positions.ts';
import { availableWithin, bandEdgePaise, needsProtection, requireProtection } from './protection.ts';
import { istDatePrefix, istDateTime, istTime } from './time.ts';

/** What a change means to listeners: postbacks fire on the last four, the ticker on all. */
export type OrderEventKind = 'OPEN' | 'TRIGGER PENDING' | 'COMPLETE' | 'CANCELLED' | 'REJECTED' | 'UPDATE';
export type OrderListener = (order: KiteOrderRecord, kind: OrderEventKind) => void;

export type PlaceInput = {
  variety: Variety;
  exchange: string;
  tradingsymbol: string;
  transactionType: Side;
  orderType: OrderType;
  quantity: number;
  product: Product;
  pricePaise: number;
  triggerPricePaise: number;
  disclosedQuantity: number;
  validity: Validity;
  validityTtl: number | null;
  /** `market_protection` as sent: -1 (automatic) or a percentage; absent on most limit orders. */
  marketProtection: number | undefined;
  tag: string | null;
};

export type ModifyInput = Partial<Pick<PlaceInput, 'orderType' | 'quantity' | 'pricePaise' | 'triggerPricePaise' | 'disclosedQuantity' | 'validity' | 'marketProtection'>>;

/**
 * Kite takes at most 25 modifications of one order; the next is refused with a NetworkException
 * whose message says so (docs/venues/kite.md "Modifications per order"). A new order starts a new count.
 */
export const MAX_MODIFICATIONS = 25;
/** Kite's words for the refusal, as its clients report them. */
export const MODIFICATIONS_EXCEEDED = 'Maximum allowed order modifications exceeded.';
export const OPENING_CASH_PAISE = 10_00_000_00; // ₹10 lakh
/**
 * Share of an order's value blocked as margin. Cash: MIS 20%, delivery in full. F&O: about
 * what SPAN + exposure come to on an index future (~12% of the contract's value) whatever the
 * product; an approximation, not Kite's margin calculator.
 */
export const marginFactor = (p: Product, i?: SimInstrument) => (i && isDerivative(i) ? 0.12 : p === 'MIS' ? 0.2 : 1);

/** "0.10", "0.05", "1.00": how Kite prints a tick size in its refusals. */
const tickText = (i: SimInstrument) => (tickPaiseOf(i) / 100).toFixed(2);

/**
 * Kite refuses, before any order exists, a quantity that is not whole lots and a price or
 * trigger price off the instrument's tick grid (400 InputException). Prices arrive in paise,
 * possibly fractional when the rupee value had more than two decimals.
 */
function checkGrid(inst: SimInstrument, quantity: number | undefined, pricePaise: number | undefined, triggerPricePaise: number | undefined): void {
  if (quantity !== undefined && inst.lotSize > 1 && quantity % inst.lotSize !== 0) {
    throw inputError(`Quantity should be in multiples of lot size. Lot size for this script is ${inst.lotSize}.`);
  }
  const tick = tickPaiseOf(inst);
  const off = (paise: number | undefined) => paise !== undefined && paise > 0 && (!Number.isInteger(paise) || paise % tick !== 0);
  if (off(pricePaise)) throw inputError(`Tick size for this script is ${tickText(inst)}. Kindly enter price in the multiple of tick size for this script`);
  if (off(triggerPricePaise)) throw inputError(`Tick size for this script is ${tickText(inst)}. Kindly enter trigger price in the multiple of tick size for this script`);
}

/**
 * Random bytes drawn a thousand orders at a time: one system call per order was a twentieth of a
 * backtest's time. Still random, still 12 base64url characters.
 */
const GUID_BYTES = 9;
let guidPool = Buffer.alloc(0);
let guidAt = 0;
function randomGuid(): string {
  if (guidAt + GUID_BYTES > guidPool.length) {
    guidPool = randomBytes(GUID_BYTES * 1024);
    guidAt = 0;
  }
  guidAt += GUID_BYTES;
  return guidPool.toString('base64url', guidAt - GUID_BYTES, guidAt);
}

export type EngineOptions = {
  /** Fault: each depth level offers at most this much to a market order (undefined = the whole level). */
  depthCap?: () => number | undefined;
  /**
   * Keep every order's status history for GET /orders/:id (default). A backtest, which never asks
   * for it, turns it off: a copy of the order at each of its four to six changes was the largest
   * cost per order.
   */
  history?: boolean;
};

let lastOrderSeq = 0;
let lastTradeSeq = 0;

export class OrderEngine {
  private readonly orders = new Map<string, SimOrder>();
  /**
   * The orders not yet COMPLETE, CANCELLED or REJECTED: what a price move can match and what
   * blocks margin. Kept apart so a long session (a backtest places tens of thousands) matches in
   * time proportional to the live orders, not to every order of the day.
   */
  private readonly working = new Map<string, SimOrder>();
  private readonly trades: KiteTradeRecord[] = [];
  private readonly ttlTimers = new Map<string, TimerHandle>();
  private readonly listeners: OrderListener[] = [];
  private orderSeq: number;
  private exchangeSeq = 0;
  private tradeSeq = 0;
  readonly positions = new PositionBook();
  private readonly depthCap: () => number | undefined;
  private readonly keepHistory: boolean;

  constructor(
    private readonly clock: Clock,
    private readonly index: InstrumentIndex,
    private readonly market: Market,
    private readonly userId: string,
    opts: EngineOptions = {},
  ) {
    this.depthCap = opts.depthCap ?? (() => undefined);
    this.keepHistory = opts.history ?? true;
    // Seconds-of-day based start keeps ids increasing across sim restarts within a day; the
    // process-wide floor keeps two exchanges started in the same second (tests, a quick
    // restart) from issuing the same ids, which the event log would take for one order.
    this.orderSeq = Math.max(Math.floor((clock.now() / 1000) % 86400) * 1000, lastOrderSeq);
    this.tradeSeq = lastTradeSeq;
  }

  onOrder(fn: OrderListener): void {
    this.listeners.push(fn);
  }

  list(): KiteOrderRecord[] {
    return [...this.orders.values()].map(orderWire);
  }
  history(orderId: string): KiteOrderRecord[] {
    return this.get(orderId).history.map(orderWire);
  }
  tradesOf(orderId?: string): KiteTradeRecord[] {
    if (orderId !== undefined) this.get(orderId);
    return this.trades.filter((t) => orderId === undefined || t.order_id === orderId);
  }
  has(orderId: string): boolean {
    return this.orders.has(orderId);
  }

  /** Funds left for new orders: cash + realised - blocked (open BUY orders and open positions). */
  availablePaise(): number {
    const { realisedPaise } = this.positions.totals((t) => this.market.state(t));
    return OPENING_CASH_PAISE + realisedPaise - this.utilisedPaise();
  }
  utilisedPaise(): number {
    let blocked = this.positions.exposurePaise(marginFactor);
    for (const o of this.working.values()) {
      if (TERMINAL.has(o.status) || o.transactionType !== 'BUY') continue;
      blocked += (o.quantity - o.filledQuantity) * this.refPrice(o) * marginFactor(o.product, this.index.token(o.instrumentToken));
    }
    return blocked;
  }

  place(input: PlaceInput, forcedRejection?: string): string {
    const inst = this.index.symbol(input.exchange, input.tradingsymbol);
    if (!inst) throw inputError(`Invalid \`tradingsymbol\`: no instrument ${input.exchange}:${input.tradingsymbol}.`);
    if (!inst.tradable) throw inputError(`Invalid \`tradingsymbol\`: ${inst.tradingsymbol} is an index and cannot be traded.`);
    if ((input.orderType === 'LIMIT' || input.orderType === 'SL') && input.pricePaise <= 0) throw inputError('Invalid `price`: required for LIMIT and SL orders.');
    if ((input.orderType === 'SL' || input.orderType === 'SL-M') && input.triggerPricePaise <= 0) throw inputError('Invalid `trigger_price`: required for SL and SL-M orders.');
    if (input.validity === 'TTL' && !input.validityTtl) throw inputError('Invalid `validity_ttl`: required for TTL validity.');
    requireProtection(input.orderType, input.marketProtection);
    checkGrid(inst, input.quantity, input.orderType === 'MARKET' || input.orderType === 'SL-M' ? undefined : input.pricePaise, input.orderType === 'SL' || input.orderType === 'SL-M' ? input.triggerPricePaise : undefined);

    const now = this.clock.now();
    const o: SimOrder = {
      // 19 digits, as Kite's order ids are now (docs/venues/kite.md, "Order updates"): past 2^53, so
      // a client that turns one into a JS number loses digits here as it would at Kite.
      orderId: `${istDatePrefix(now)}${String((lastOrderSeq = ++this.orderSeq)).padStart(13, '0')}`,
      exchangeOrderId: null,
      placedBy: this.userId,
      variety: input.variety,
      exchange: inst.exchange,
      tradingsymbol: inst.tradingsymbol,
      instrumentToken: inst.instrumentToken,
      transactionType: input.transactionType,
      orderType: input.orderType,
      product: input.product,
      validity: input.validity,
      validityTtl: input.validity === 'TTL' ? input.validityTtl : null,
      quantity: input.quantity,
      disclosedQuantity: input.disclosedQuantity,
      pricePaise: input.orderType === 'MARKET' || input.orderType === 'SL-M' ? 0 : input.pricePaise,
      triggerPricePaise: input.orderType === 'SL' || input.orderType === 'SL-M' ? input.triggerPricePaise : 0,
      marketProtection: input.marketProtection ?? 0,
      filledQuantity: 0,
      filledValuePaise: 0,
      cancelledQuantity: 0,
      status: 'PUT ORDER REQ RECEIVED',
      statusMessage: null,
      statusMessageRaw: null,
      orderMs: now,
      exchangeMs: null,
      exchangeUpdateMs: null,
      modified: false,
      modifications: 0,
      tag: input.tag,
      guid: randomGuid(),
      history: [],
    };
    this.orders.set(o.orderId, o);
    this.snapshot(o);
    this.transition(o, 'VALIDATION PENDING');

    const rejection = forcedRejection ? { message: forcedRejection, raw: forcedRejection } : this.marginRejection(o);
    if (rejection) {
      o.statusMessage = rejection.message;
      o.statusMessageRaw = rejection.raw;
      this.transition(o, 'REJECTED');
      this.emit(o, 'REJECTED');
      return o.orderId;
    }
    this.transition(o, 'OPEN PENDING');
    o.exchangeOrderId = String(1_100_000_000_000_000 + ++this.exchangeSeq);
    o.exchangeMs = now;
    o.exchangeUpdateMs = now;
    const stop = o.orderType === 'SL' || o.orderType === 'SL-M';
    if (o.orderType === 'MARKET') this.drawBand(o);
    this.transition(o, stop ? 'TRIGGER PENDING' : 'OPEN');
    this.emit(o, stop ? 'TRIGGER PENDING' : 'OPEN');
    if (o.validity === 'TTL' && o.validityTtl) {
      this.ttlTimers.set(o.orderId, this.clock.setTimeout(() => this.expire(o.orderId), o.validityTtl * 60_000));
    }
    this.tryMatch(o);
    if (o.validity === 'IOC' && !TERMINAL.has(o.status)) this.cancelRemainder(o, 'IOC order cancelled: not fully filled on arrival.');
    return o.orderId;
  }

  modify(orderId: string, input: ModifyInput): string {
    const o = this.get(orderId);
    if (o.status !== 'OPEN' && o.status !== 'TRIGGER PENDING') {
      throw inputError(`Order cannot be modified as it is in ${o.status} state.`);
    }
    // NetworkException is answered with 503 by Kite's convention (gokiteconnect errors.go): a
    // client that retries a 503 without reading the message keeps hitting this refusal.
    if (o.modifications >= MAX_MODIFICATIONS) throw new KiteHttpError(503, 'NetworkException', MODIFICATIONS_EXCEEDED);
    const quantity = input.quantity ?? o.quantity;
    if (quantity <= o.filledQuantity) throw inputError('Invalid `quantity`: must exceed the filled quantity.');
    const orderType = input.orderType ?? o.orderType;
    // A MARKET order keeps the protection it was placed with; one modified into MARKET must bring its own.
    const protection = input.marketProtection ?? (needsProtection(o.orderType) ? o.marketProtection : undefined);
    requireProtection(orderType, protection);
    const pricePaise = input.pricePaise ?? o.pricePaise;
    const triggerPricePaise = input.triggerPricePaise ?? o.triggerPricePaise;
    if ((orderType === 'LIMIT' || orderType === 'SL') && pricePaise <= 0) throw inputError('Invalid `price`: required for LIMIT and SL orders.');
    if ((orderType === 'SL' || orderType === 'SL-M') && triggerPricePaise <= 0) throw inputError('Invalid `trigger_price`: required for SL and SL-M orders.');
    const inst = this.index.token(o.instrumentToken);
    if (inst) checkGrid(inst, quantity, orderType === 'MARKET' || orderType === 'SL-M' ? undefined : pricePaise, orderType === 'SL' || orderType === 'SL-M' ? triggerPricePaise : undefined);
    const resting = o.status;
    this.transition(o, 'MODIFY VALIDATION PENDING');
    o.quantity = quantity;
    o.orderType = orderType;
    // A market order's band is drawn again from the price when the modified order goes live.
    o.pricePaise = orderType === 'MARKET' || orderType === 'SL-M' ? 0 : pricePaise;
    o.triggerPricePaise = orderType === 'SL' || orderType === 'SL-M' ? triggerPricePaise : 0;
    if (needsProtection(orderType)) o.marketProtection = protection ?? o.marketProtection;
    o.disclosedQuantity = input.disclosedQuantity ?? o.disclosedQuantity;
    o.validity = input.validity ?? o.validity;
    o.modified = true;
    o.modifications++;
    o.exchangeUpdateMs = this.clock.now();
    this.transition(o, 'MODIFY PENDING');
    this.transition(o, 'MODIFIED');
    // A stop order stays armed unless the modify turned it into a plain order.
    const back: OrderStatus = resting === 'TRIGGER PENDING' && (orderType === 'SL' || orderType === 'SL-M') ? 'TRIGGER PENDING' : 'OPEN';
    if (back === 'OPEN' && needsProtection(orderType)) this.drawBand(o);
    this.transition(o, back);
    this.emit(o, 'UPDATE');
    this.tryMatch(o);
    return o.orderId;
  }

  cancel(orderId: string, reason: string | null = null): string {
    const o = this.get(orderId);
    if (o.status !== 'OPEN' && o.status !== 'TRIGGER PENDING') {
      throw inputError(`Order cannot be cancelled as it is in ${o.status} state.`);
    }
    this.transition(o, 'CANCEL PENDING');
    this.cancelRemainder(o, reason);
    return o.orderId;
  }

  /**
   * Forgets a finished order and the day's trades: a backtest keeps its own record, and a session
   * of tens of thousands of orders would otherwise hold every status snapshot of every one.
   */
  forget(orderId: string): void {
    const o = this.orders.get(orderId);
    if (!o || !TERMINAL.has(o.status)) return;
    this.orders.delete(orderId);
    this.trades.length = 0;
  }

  /** Price moved (tick or setPrice): trigger stops and match resting orders of that instrument. */
  onPrice(token?: number): void {
    for (const o of this.working.values()) {
      if (token !== undefined && o.instrumentToken !== token) continue;
      if (o.status === 'OPEN' || o.status === 'TRIGGER PENDING') this.tryMatch(o);
    }
  }

  close(): void {
    for (const t of this.ttlTimers.values()) this.clock.clearTimeout(t);
    this.ttlTimers.clear();
  }

  private get(orderId: string): SimOrder {
    const o = this.orders.get(orderId);
    if (!o) throw new KiteHttpError(400, 'InputException', `Couldn't find that \`order_id\`.`);
    return o;
  }

  private refPrice(o: SimOrder): number {
    const s = this.market.state(o.instrumentToken);
    return o.pricePaise || o.triggerPricePaise || s?.lastPaise || 0;
  }
  private requiredPaise(o: SimOrder): number {
    return o.quantity * this.refPrice(o) * marginFactor(o.product, this.index.token(o.instrumentToken));
  }
  private marginRejection(o: SimOrder): { message: string; raw: string } | undefined {
    if (o.transactionType !== 'BUY') return undefined;
    // utilised already counts this order (it is in the book): compare against the rest.
    const required = this.requiredPaise(o);
    const available = this.availablePaise() + required;
    if (required <= available) return undefined;
    const [req, avl] = [(required / 100).toFixed(2), (available / 100).toFixed(2)];
    return {
      message: `Insufficient funds. Required margin is ${req} but available margin is ${avl}.`,
      raw: `RMS:Margin Exceeds,Required:${req}, Available:${avl} for entity account-${this.userId} across exchange across segment across product`,
    };
  }

  private tryMatch(o: SimOrder): void {
    const s = this.market.state(o.instrumentToken);
    const inst = this.index.token(o.instrumentToken);
    if (!s || !inst) return;
    const ltp = s.lastPaise;
    if (o.status === 'TRIGGER PENDING') {
      const hit = o.transactionType === 'BUY' ? ltp >= o.triggerPricePaise : ltp <= o.triggerPricePaise;
      if (!hit) return;
      this.drawBand(o);
      this.transition(o, 'OPEN');
      this.emit(o, 'UPDATE');
    }
    if (o.status !== 'OPEN') return;
    const remaining = o.quantity - o.filledQuantity;
    const opposite = o.transactionType === 'BUY' ? s.asks : s.bids;
    if (needsProtection(o.orderType)) {
      const within = o.transactionType === 'BUY' ? ltp <= o.pricePaise : ltp >= o.pricePaise;
      const qty = within ? Math.min(remaining, availableWithin(o.transactionType, opposite, o.pricePaise, this.depthCap())) : 0;
      if (qty > 0) this.fill(o, inst, s, qty, ltp);
      return;
    }
    const crosses = o.transactionType === 'BUY' ? ltp <= o.pricePaise : ltp >= o.pricePaise;
    if (!crosses) return;
    // A limit order takes what the top of the opposite side offers this tick.
    const top = opposite[0]?.quantity ?? remaining;
    this.fill(o, inst, s, Math.min(remaining, top), ltp);
  }

  /**
   * A protected market order going live (placed, modified into MARKET, an SL-M triggered)
   * becomes a limit at the band edge around the last price; `price` shows the edge.
   */
  private drawBand(o: SimOrder): void {
    const s = this.market.state(o.instrumentToken);
    const inst = this.index.token(o.instrumentToken);
    if (!s || !inst) return;
    o.pricePaise = bandEdgePaise(o.transactionType, s.lastPaise, o.marketProtection, tickPaiseOf(inst));
  }

  private fill(o: SimOrder, inst: SimInstrument, _s: MarketState, qty: number, pricePaise: number): void {
    const now = this.clock.now();
    o.filledQuantity += qty;
    o.filledValuePaise += qty * pricePaise;
    o.exchangeUpdateMs = now;
    this.positions.applyFill(inst, o.product, o.transactionType, qty, pricePaise);
    this.trades.push({
      trade_id: String(10_000_000 + (lastTradeSeq = ++this.tradeSeq)),
      order_id: o.orderId,
      exchange: o.exchange,
      tradingsymbol: o.tradingsymbol,
      instrument_token: o.instrumentToken,
      product: o.product,
      average_price: pricePaise / 100,
      quantity: qty,
      exchange_order_id: o.exchangeOrderId,
      transaction_type: o.transactionType,
      fill_timestamp: istDateTime(now),
      order_timestamp: istTime(o.orderMs),
      exchange_timestamp: istDateTime(now),
    });
    if (o.filledQuantity >= o.quantity) {
      this.transition(o, 'COMPLETE');
      this.clearTtl(o.orderId);
      this.emit(o, 'COMPLETE');
    } else {
      this.snapshot(o); // partial fill: same status, new filled/pending
      this.emit(o, 'UPDATE');
    }
  }

  private cancelRemainder(o: SimOrder, reason: string | null): void {
    o.cancelledQuantity = o.quantity - o.filledQuantity;
    o.statusMessage = reason;
    o.exchangeUpdateMs = this.clock.now();
    this.transition(o, 'CANCELLED');
    this.clearTtl(o.orderId);
    this.emit(o, 'CANCELLED');
  }

  private expire(orderId: string): void {
    this.ttlTimers.delete(orderId);
    const o = this.orders.get(orderId);
    if (o && (o.status === 'OPEN' || o.status === 'TRIGGER PENDING')) this.cancelRemainder(o, 'TTL order expired.');
  }
  private clearTtl(orderId: string): void {
    this.clock.clearTimeout(this.ttlTimers.get(orderId));
    this.ttlTimers.delete(orderId);
  }

  private transition(o: SimOrder, status: OrderStatus): void {
    o.status = status;
    if (TERMINAL.has(status)) this.working.delete(o.orderId);
    else this.working.set(o.orderId, o);
    this.snapshot(o);
  }
  private snapshot(o: SimOrder): void {
    if (!this.keepHistory) return;
    const { history, ...fields } = o;
    history.push(fields);
  }
  private emit(o: SimOrder, kind: OrderEventKind): void {
    const wire = orderWire(o);
    for (const l of this.listeners) l(wire, kind);
  }
}
