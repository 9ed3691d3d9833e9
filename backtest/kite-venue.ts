/**
 * The built-in Kite exchange's matching engine (exchanges/kite/orders.ts), fed the data's prices:
 * each tick sets the instrument's last price (exchanges/kite/market.ts draws a fresh seeded book
 * around it) and matches resting orders, so a limit fills when the price crosses it and a MARKET
 * order is a limit at the edge of its protection band (exchanges/kite/protection.ts), exactly as
 * in paper trading. States map to the broker's with the broker's own function.
 */
import type { Tick } from '../actors/messages.ts';
import { normalizedState } from '../broker/kite/order-state.ts';
import { kiteOrderRule } from '../broker/kite/adapter.ts';
import type { OrderRuleViolation, VenueOrderRequest } from '../broker/venue.ts';
import { defaultInstruments, InstrumentIndex, tickPaiseOf, type SimInstrument } from '../exchanges/kite/instruments.ts';
import { Market } from '../exchanges/kite/market.ts';
import { OrderEngine } from '../exchanges/kite/orders.ts';
import type { KiteOrderRecord, OrderStatus } from '../exchanges/kite/order-wire.ts';
import { KiteHttpError } from '../exchanges/kite/errors.ts';
import type { VirtualClock } from './virtual-clock.ts';
import { SimVenueRefusal, type SimOrderEvent, type SimOrderRequest, type SimVenue } from './venue.ts';

type Listener = (e: SimOrderEvent) => void;

/** `NSE:INFY` → ['NSE', 'INFY']; a bare symbol is NSE's, as the live adapter reads it. */
const splitSymbol = (symbol: string): [string, string] => (symbol.includes(':') ? (symbol.split(':', 2) as [string, string]) : ['NSE', symbol]);

/**
 * An instrument the built-in master does not list (data imported for another stock): an NSE/BSE
 * equity on the 5-paise grid in lots of 1, with a token derived from its name. Futures are not
 * guessed: their lot size matters, so only the listed ones trade.
 */
function equityFor(symbol: string): SimInstrument | undefined {
  const [exchange, tradingsymbol] = splitSymbol(symbol);
  if (exchange !== 'NSE' && exchange !== 'BSE') return undefined;
  let h = 2166136261;
  for (const ch of symbol) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const exchangeToken = 0x400000 + (h % 0x3fffff);
  return {
    instrumentToken: (exchangeToken << 8) | (exchange === 'NSE' ? 1 : 4), exchangeToken, tradingsymbol, name: tradingsymbol,
    exchange, segment: exchange, instrumentType: 'EQ', tickSize: 0.05, lotSize: 1, expiry: null, tradable: true, isin: null, closePaise: 100_00,
  };
}

export class KiteSimVenue implements SimVenue {
  readonly venue = 'kite' as const;
  /** As the live Kite adapter (broker/kite/adapter.ts): Kite takes 25 modifications of one order. */
  readonly maxModificationsPerOrder = 25;
  private readonly index: InstrumentIndex;
  private readonly market: Market;
  private readonly engine: OrderEngine;
  private readonly tokens = new Map<string, number>();
  private readonly intentOf = new Map<string, string>();
  private readonly filled = new Map<string, number>();
  /** Open orders per instrument token: a tick on an instrument without any matches nothing. */
  private readonly openOn = new Map<number, number>();
  private readonly openOrders = new Map<string, number>();
  private readonly listeners: Listener[] = [];
  /** Tokens the data has priced: before its first tick an instrument has only the built-in's made-up price. */
  private readonly priced = new Set<number>();
  /** True while the engine handles a place: a fill then is the order taking liquidity. */
  private placing = false;

  /**
   * `symbols`: every instrument the strategies trade; those the built-in master lacks are added as
   * equities. Their price is the data's from its first tick on (the engine matches nothing before).
   */
  constructor(clock: VirtualClock, seed: number, symbols: readonly string[]) {
    const list = defaultInstruments();
    const known = new InstrumentIndex(list);
    for (const symbol of symbols) {
      const [exchange, tradingsymbol] = splitSymbol(symbol);
      let inst = known.symbol(exchange, tradingsymbol);
      if (!inst) {
        inst = equityFor(symbol);
        if (!inst) throw new SimVenueRefusal('InputException', `${symbol}: the built-in Kite exchange does not list it, and only NSE/BSE equities are added for data`);
        list.push(inst);
      }
      this.tokens.set(symbol, inst.instrumentToken);
    }
    this.index = new InstrumentIndex(list);
    this.market = new Market(list, seed, clock.now());
    this.engine = new OrderEngine(clock, this.index, this.market, 'BT0001', { history: false });
    this.engine.onOrder((o) => this.onOrder(o));
  }

  /** The live adapter's lot and tick rules, against the instrument list this exchange trades. */
  checkOrder(req: VenueOrderRequest): OrderRuleViolation | undefined {
    const inst = this.index.key(req.symbol);
    return kiteOrderRule(inst?.tradable ? { tickPaise: tickPaiseOf(inst), lot: inst.lotSize } : undefined, req);
  }

  onEvent(fn: Listener): void {
    this.listeners.push(fn);
  }

  onTick(t: Tick): void {
    const token = this.tokens.get(t.symbol);
    if (token === undefined) return;
    this.market.setPrice(token, t.last, t.ts);
    this.priced.add(token);
    if ((this.openOn.get(token) ?? 0) > 0) this.engine.onPrice(token);
  }

  place(req: SimOrderRequest): string {
    const [exchange, tradingsymbol] = splitSymbol(req.symbol);
    const token = this.tokens.get(req.symbol);
    if (token !== undefined && !this.priced.has(token)) throw new SimVenueRefusal('InputException', `${req.symbol}: no price in the data yet; the backtest exchange matches from the first tick on`);
    this.placing = true;
    try {
      return this.engine.place({
        variety: 'regular', exchange, tradingsymbol, transactionType: req.side, orderType: req.orderType, quantity: req.qty, product: 'MIS',
        pricePaise: req.limitPrice ?? 0, triggerPricePaise: 0, disclosedQuantity: 0, validity: 'DAY', validityTtl: null,
        marketProtection: req.orderType === 'MARKET' ? req.marketProtection : undefined, tag: req.intentId,
      });
    } catch (e) {
      throw refusal(e);
    } finally {
      this.placing = false;
    }
  }

  cancel(venueOrderId: string): void {
    try {
      this.engine.cancel(venueOrderId);
    } catch (e) {
      throw refusal(e);
    }
  }

  modify(venueOrderId: string, change: { qty: number; limitPrice?: number }): void {
    this.placing = true;
    try {
      this.engine.modify(venueOrderId, { quantity: change.qty, ...(change.limitPrice !== undefined ? { pricePaise: change.limitPrice } : {}) });
    } catch (e) {
      throw refusal(e);
    } finally {
      this.placing = false;
    }
  }

  private onOrder(o: KiteOrderRecord): void {
    const intentId = o.tag ?? this.intentOf.get(o.order_id);
    if (!intentId) return;
    this.intentOf.set(o.order_id, intentId);
    const status = o.status as OrderStatus;
    const token = o.instrument_token;
    this.trackOpen(o.order_id, token, status === 'OPEN' || status === 'TRIGGER PENDING');
    const before = this.filled.get(o.order_id) ?? 0;
    const delta = o.filled_quantity - before;
    this.filled.set(o.order_id, o.filled_quantity);
    const state = normalizedState({ status, filledQty: o.filled_quantity, qty: o.quantity });
    const e: SimOrderEvent = {
      intentId, venueOrderId: o.order_id, state, venueStatus: status, qty: o.quantity, filledQty: o.filled_quantity,
      ...(o.price > 0 ? { limitPrice: Math.round(o.price * 100) } : {}),
      // The engine fills at the last price of the moment (exchanges/kite/orders.ts tryMatch).
      ...(delta > 0 ? { fill: { qty: delta, price: this.market.state(token)!.lastPaise, isTaker: this.placing } } : {}),
      ...(o.status_message ? { message: o.status_message } : {}),
    };
    for (const l of this.listeners) l(e);
    if (state === 'filled' || state === 'cancelled' || state === 'rejected') {
      this.engine.forget(o.order_id);
      this.filled.delete(o.order_id);
      this.intentOf.delete(o.order_id);
    }
  }

  private trackOpen(orderId: string, token: number, open: boolean): void {
    const was = this.openOrders.has(orderId);
    if (open === was) return;
    if (open) this.openOrders.set(orderId, token);
    else this.openOrders.delete(orderId);
    this.openOn.set(token, (this.openOn.get(token) ?? 0) + (open ? 1 : -1));
  }
}

function refusal(e: unknown): Error {
  if (e instanceof KiteHttpError) return new SimVenueRefusal(e.errorType, e.message);
  return e as Error;
}
