/**
 * The built-in Kalshi exchange's matching engine (exchanges/kalshi/engine.ts: price-time
 * priority, a fill at the resting order's price), fed the data: at every tick the market maker's
 * quotes are replaced by the tick's bid and ask (sizes drawn from the seed), and a trade printed
 * at the last price (a seeded size) fills what it crosses. So a resting limit fills when the price
 * crosses it, and a new order that crosses the quoted touch takes it at once. Limit orders only,
 * as the live adapter (broker/kalshi/adapter.ts) sends them.
 */
import type { Tick } from '../actors/messages.ts';
import { mulberry32, randInt, type Rng } from '../actors/prng.ts';
import { SimEngine, SimError, type SimFill, type SimOrder } from '../exchanges/kalshi/engine.ts';
import type { VirtualClock } from './virtual-clock.ts';
import { SimVenueRefusal, type SimOrderEvent, type SimOrderRequest, type SimVenue } from './venue.ts';

type Listener = (e: SimOrderEvent) => void;

const CONTRACT = 100;
/** Far in the future: the data, not the market's calendar, says when trading stops. */
const NEVER_CLOSES = 253_402_300_799_999;

export class KalshiSimVenue implements SimVenue {
  readonly venue = 'kalshi' as const;
  private readonly engine: SimEngine;
  private readonly rng: Rng;
  private readonly listeners: Listener[] = [];
  private readonly quotes = new Map<string, string[]>();
  /** Our orders resting per ticker: a print on a ticker without any matches nothing and is skipped. */
  private readonly restingOn = new Map<string, Set<string>>();
  private readonly known = new Set<string>();
  private readonly priced = new Set<string>();
  private readonly lastSaid = new Map<string, string>();
  private placing = false;

  constructor(clock: VirtualClock, seed: number, tickers: readonly string[]) {
    this.engine = new SimEngine(clock);
    this.rng = mulberry32(seed);
    for (const ticker of tickers) {
      this.engine.addMarket({ ticker, eventTicker: ticker.split('-')[0] ?? ticker, seriesTicker: ticker.split('-')[0] ?? ticker, title: ticker, status: 'active', openMs: 0, closeMs: NEVER_CLOSES, lastPrice: 5_000, volume: 0 });
      this.restingOn.set(ticker, new Set());
    }
    this.engine.on('fill', (f) => this.onFill(f));
  }

  onEvent(fn: Listener): void {
    this.listeners.push(fn);
  }

  onTick(t: Tick): void {
    if (!this.restingOn.has(t.symbol)) return;
    this.priced.add(t.symbol);
    for (const id of this.quotes.get(t.symbol) ?? []) this.engine.withdrawMaker(id);
    const ours = this.restingOn.get(t.symbol)!;
    if (ours.size > 0 && onGrid(t.last)) {
      // A trade at the last price: both sides, so a resting order of ours on either side that it crosses fills.
      for (const side of ['bid', 'ask'] as const) this.maker({ ticker: t.symbol, side, price: t.last, count: this.size(), timeInForce: 'immediate_or_cancel' });
    }
    const fresh: string[] = [];
    if (t.bid !== undefined && onGrid(t.bid)) fresh.push(this.maker({ ticker: t.symbol, side: 'bid', price: t.bid, count: this.size(), timeInForce: 'good_till_canceled' }));
    if (t.ask !== undefined && onGrid(t.ask)) fresh.push(this.maker({ ticker: t.symbol, side: 'ask', price: t.ask, count: this.size(), timeInForce: 'good_till_canceled' }));
    this.quotes.set(t.symbol, fresh);
    this.refresh(t.symbol);
  }

  place(req: SimOrderRequest): string {
    if (req.orderType !== 'LIMIT' || req.limitPrice === undefined) {
      throw new SimVenueRefusal('InputException', 'kalshi takes limit orders only: give a limit price (an immediate_or_cancel limit is a market order with a cap)');
    }
    if (!this.priced.has(req.symbol)) throw new SimVenueRefusal('InputException', `${req.symbol}: no price in the data yet; the backtest exchange matches from the first tick on`);
    const o = this.call(() => this.engine.place({ ticker: req.symbol, side: req.side === 'BUY' ? 'bid' : 'ask', price: req.limitPrice!, count: req.qty, clientOrderId: req.intentId, timeInForce: 'good_till_canceled' }));
    this.settle(o);
    return o.orderId;
  }

  cancel(venueOrderId: string): void {
    const { order } = this.call(() => this.engine.cancel(venueOrderId));
    this.settle(order);
  }

  modify(venueOrderId: string, change: { qty: number; limitPrice?: number }): void {
    const cur = this.engine.orders.get(venueOrderId);
    if (change.limitPrice === undefined || !cur) throw new SimVenueRefusal('InputException', 'kalshi orders are limit orders: a modify needs a limit price');
    const o = this.call(() => this.engine.amend(venueOrderId, { price: change.limitPrice!, count: change.qty }));
    this.settle(o);
  }

  private call<T>(fn: () => T): T {
    this.placing = true;
    try {
      return fn();
    } catch (e) {
      if (e instanceof SimError) throw new SimVenueRefusal(e.status === 404 ? 'InputException' : 'InputException', `${e.code}: ${e.message}`);
      throw e;
    } finally {
      this.placing = false;
    }
  }

  private maker(req: Parameters<SimEngine['place']>[0]): string {
    const o = this.engine.place(req, 'mm');
    // Executed or cancelled at once (a print, a quote taken whole): nothing to withdraw later.
    if (o.status !== 'resting') this.engine.withdrawMaker(o.orderId);
    return o.orderId;
  }

  private size(): number {
    return randInt(this.rng, 1, 50) * CONTRACT;
  }

  private onFill(f: SimFill): void {
    const o = this.engine.orders.get(f.orderId);
    if (!o || o.owner !== 'user') return;
    this.announce(o);
    this.emit(o, { qty: f.count, price: f.price, isTaker: f.isTaker && this.placing });
  }

  /** After a call: the order's state now (resting, cancelled, executed). */
  private settle(o: SimOrder): void {
    this.announce(o);
    this.emit(o);
    this.track(o);
  }

  /** An order seen for the first time is announced open before any of its fills, as Kite's is. */
  private announce(o: SimOrder): void {
    if (this.known.has(o.orderId)) return;
    this.known.add(o.orderId);
    this.emitState(o, 'open', 0);
  }

  private emit(o: SimOrder, fill?: { qty: number; price: number; isTaker: boolean }): void {
    const filled = o.filled;
    const state = filled >= o.initialCount ? 'filled' : o.status === 'canceled' ? 'cancelled' : filled > 0 ? 'partially_filled' : 'open';
    this.emitState(o, state, filled, fill);
    this.track(o);
  }

  private emitState(o: SimOrder, state: SimOrderEvent['state'], filledQty: number, fill?: SimOrderEvent['fill']): void {
    // The state after a call repeats what its last fill already said: one update is enough.
    const key = `${state}:${filledQty}:${o.initialCount}:${o.price}`;
    if (!fill && this.lastSaid.get(o.orderId) === key) return;
    this.lastSaid.set(o.orderId, key);
    if (state === 'filled' || state === 'cancelled') this.lastSaid.delete(o.orderId);
    const e: SimOrderEvent = {
      intentId: o.clientOrderId, venueOrderId: o.orderId, state, venueStatus: filledQty >= o.initialCount ? 'executed' : o.status,
      qty: o.initialCount, filledQty, limitPrice: o.price, ...(fill ? { fill } : {}),
    };
    for (const l of this.listeners) l(e);
  }

  private track(o: SimOrder): void {
    const set = this.restingOn.get(o.ticker);
    if (!set) return;
    if (o.status === 'resting' && o.remaining > 0) set.add(o.orderId);
    else set.delete(o.orderId);
  }

  /** Our orders a maker's quote or print filled: their state as it stands now. */
  private refresh(ticker: string): void {
    for (const id of [...(this.restingOn.get(ticker) ?? [])]) {
      const o = this.engine.orders.get(id);
      if (o) this.track(o);
    }
  }
}

/** Kalshi's grid here: whole cents (price in hundredths of a cent, 1..99 cents). */
const onGrid = (p: number) => Number.isSafeInteger(p) && p > 0 && p < 10_000 && p % 100 === 0;
