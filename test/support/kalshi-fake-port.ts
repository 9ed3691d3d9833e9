import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { TestClock } from '../../actors/clock.ts';
import { OrderBook } from '../../broker/order-book.ts';
import type { VenueOrder, VenueTick } from '../../broker/venue.ts';
import { VenueError } from '../../broker/venue-errors.ts';
import { KalshiAdapter, type KalshiAdapterOptions, type KalshiPort } from '../../broker/kalshi/adapter.ts';
import type { KalshiVenueEvents, PlaceOrderArgs } from '../../broker/kalshi/venue.ts';
import type { PlaceResult } from '../../broker/kalshi/orders.ts';
import type { KalshiFill, KalshiOrder } from '../../broker/kalshi/schemas.ts';
import type { FillUpdate, OrderPush } from '../../broker/kalshi/ws-protocol.ts';

/**
 * The Kalshi adapter's unit tests' scripted venue (broker/kalshi/adapter*.test.ts): a fake
 * KalshiVenue port and the broker's own order book fed from the adapter's reports.
 */
/** The write-ahead, already stored: these tests are about the adapter, not the log. */
export const stored = Promise.resolve();

export const log = pino({ level: 'silent' });

/** A scripted KalshiVenue: records calls, answers from queues, emits what the test says. */
export class FakePort extends EventEmitter implements KalshiPort {
  live = true;
  placed: PlaceOrderArgs[] = [];
  cancelled: Array<{ id: string; kill: boolean }> = [];
  subs: string[] = [];
  nextPlace: (a: PlaceOrderArgs) => Promise<PlaceResult> = async (a) => ({ orderId: 'o1', clientOrderId: a.clientOrderId, filledCount: 0, remainingCount: a.count, recovered: false });
  resting: KalshiOrder[] = [];
  byId = new Map<string, KalshiOrder>();
  fills = new Map<string, KalshiFill[]>();
  badTickers = new Set<string>();
  reads = 0;
  async connect() {}
  async close() { this.live = false; }
  isLive() { return this.live; }
  placeOrder(a: PlaceOrderArgs) { this.placed.push(a); return this.nextPlace(a); }
  async cancelOrder(id: string, o: { kill?: boolean }) { this.cancelled.push({ id, kill: o.kill === true }); return { orderId: id, reducedBy: 0 }; }
  amended: Array<{ id: string; ticker: string; side: string; price: number; count: number }> = [];
  nextAmend: (id: string) => Promise<unknown> = async (id) => ({ order_id: id });
  amendOrder(id: string, a: { ticker: string; side: 'bid' | 'ask'; price: number; count: number }) { this.amended.push({ id, ...a }); return this.nextAmend(id); }
  async subscribeBook(t: string) {
    this.subs.push(`+${t}`);
    // Like the real socket: the snapshot comes with the subscription, before the call resolves.
    this.emit('book', { ticker: t, bid: { price: 4000, size: 100 }, ask: { price: 4200, size: 100 }, tsMs: 1 });
    if (this.badTickers.has(t)) throw new Error('kalshi ws error 16: Market not found');
  }
  async unsubscribeBook(t: string) { this.subs.push(`-${t}`); }
  /** Orders and fills of the account's history, with their times (Unix s) for min_ts. */
  history: Array<{ order: KalshiOrder; ts: number }> = [];
  tradeLog: Array<{ fill: KalshiFill; ts: number }> = [];
  sinceAsked: number[] = [];
  async restingOrders() { this.reads++; return this.resting; }
  async ordersSince(minTs: number) { this.reads++; this.sinceAsked.push(minTs); return this.history.filter((h) => h.ts >= minTs).map((h) => h.order); }
  async fillsSince(minTs: number) { this.reads++; return this.tradeLog.filter((h) => h.ts >= minTs).map((h) => h.fill); }
  async order(id: string) {
    this.reads++;
    const o = this.byId.get(id);
    if (!o) throw new VenueError({ venue: 'kalshi', kind: 'NotFound', status: 404, message: 'order not found' });
    return o;
  }
  async orderFills(id: string) { this.reads++; return this.fills.get(id) ?? []; }
  async positions() { return []; }
  override on<E extends keyof KalshiVenueEvents>(event: E, fn: (...a: KalshiVenueEvents[E]) => void): this {
    return super.on(event, fn as (...a: unknown[]) => void);
  }
  push<E extends keyof KalshiVenueEvents>(event: E, ...a: KalshiVenueEvents[E]) { this.emit(event, ...a); }
}

export function setup(opts: Partial<KalshiAdapterOptions> = {}) {
  const clock = new TestClock(1_700_000_000_000);
  const port = new FakePort();
  const adapter = new KalshiAdapter({ port, clock, log, pollIntervalMs: 1000, ...opts });
  const orders: VenueOrder[] = [];
  const ticks: VenueTick[] = [];
  const events: string[] = [];
  adapter.on('order', (o) => orders.push(o));
  adapter.on('tick', (t) => ticks.push(t));
  adapter.on('disconnected', (r) => events.push(`disconnected:${r}`));
  adapter.on('reconnected', () => events.push('reconnected'));
  adapter.on('reconcile', (trigger) => events.push(trigger ? `reconcile:${trigger}` : 'reconcile'));
  // The broker's own order book: what it derives from the reports is what a strategy sees.
  const book = new OrderBook();
  const brokerFills: Array<{ fillId: string; qty: number; price: number }> = [];
  adapter.on('order', (o) => {
    const r = book.apply(o);
    if (r?.fill) brokerFills.push({ fillId: r.fill.fillId, qty: r.fill.qty, price: r.fill.price });
  });
  const intent = (intentId: string, side: 'BUY' | 'SELL', qty: number, limitPrice: number) =>
    book.register({ action: 'place', intentId, strategyId: 's', ts: 0, venue: 'kalshi', symbol: 'KXFED-26DEC-T4.00', side, qty, orderType: 'LIMIT', limitPrice }, 0);
  return { clock, port, adapter, orders, ticks, events, book, brokerFills, intent };
}

export const fill = (over: Partial<FillUpdate> & { tradeId: string; count: number; price: number }): FillUpdate =>
  ({ orderId: 'o1', clientOrderId: 'intentA', ticker: 'KXFED-26DEC-T4.00', side: 'bid', isTaker: false, ...over });
export const restOrder = (over: Partial<KalshiOrder>): KalshiOrder => ({
  orderId: 'o1', clientOrderId: 'intentA', ticker: 'KXFED-26DEC-T4.00', side: 'bid', price: 4500, initialCount: 300,
  filledCount: 0, remainingCount: 300, status: 'resting', createdTime: undefined, ...over,
});
export const restFill = (tradeId: string, count: number, price: number): KalshiFill => ({
  fillId: `${tradeId}-m`, tradeId, orderId: 'o1', clientOrderId: 'intentA', ticker: 'KXFED-26DEC-T4.00', side: 'bid', price, count, isTaker: false, feeMicros: 0, tsMs: 0,
});

/** A user_orders push for order o1 (intentA), resting at its placed shape unless told otherwise. */
export const orderPush = (over: Partial<OrderPush>): OrderPush => ({
  orderId: 'o1', clientOrderId: 'intentA', ticker: 'KXFED-26DEC-T4.00', side: 'bid', status: 'resting', price: 4500,
  filledCount: 0, remainingCount: 300, initialCount: 300, ...over,
});
