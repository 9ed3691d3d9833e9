import type { NatsConnection, Msg, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { connectBus, subscribeParsed, publishJson, encodeJson } from '../actors/bus.ts';
import { subjects, type Venue } from '../actors/subjects.ts';
import {
  IntentSchema, IntentReplySchema, TickSchema, OrderUpdateSchema, BrokerEventSchema,
  type Intent, type IntentReply, type PlaceIntent, type CancelIntent, type BrokerEvent,
} from '../actors/messages.ts';
import { metrics } from '../actors/metrics.ts';
import { VenueError } from './venue-errors.ts';
import { OrderBook, isTerminal, type OrderRecord } from './order-book.ts';
import type { VenueAdapter, VenueOrder, VenueTick } from './venue.ts';
import type { EventLog } from './event-log.ts';
import type { StrategySpec } from '../supervisor/config.ts';

export type Denial = { ok: false; rule: string; reason: string; figures?: Record<string, number | string> };
export type GateDecision = { ok: true } | Denial;

/** What a gate sees when it judges an intent: the broker's own state, never the strategy's claim. */
export type GateView = {
  spec: StrategySpec;
  position: (symbol: string) => number;
  openOrders: OrderRecord[];
  lastPrice: (venue: Venue, symbol: string) => number | undefined;
  now: number;
};

/** Pre-trade gates run in order; the first denial wins. Kill level first, then risk. */
export type IntentGate = (intent: PlaceIntent, view: GateView) => GateDecision;

export type BrokerActorOptions = {
  natsUrl: string;
  natsUser?: string;
  natsPass?: string;
  adapters: VenueAdapter[];
  strategies: readonly StrategySpec[];
  clock: Clock;
  log: Logger;
  gates?: IntentGate[];
  eventLog?: (nc: NatsConnection) => EventLog;
  /** Called when a venue says the strategy has no margin: the strategy must halt. */
  onMarginException?: (strategyId: string, err: VenueError) => void;
};

/**
 * The only code that talks to venues. It answers intents, publishes ticks and order updates,
 * and owns the order book. Strategies never see a venue, only these NATS subjects.
 */
export class BrokerActor {
  private nc: NatsConnection | undefined;
  private readonly subs: Subscription[] = [];
  private readonly venues = new Map<Venue, VenueAdapter>();
  private strategies = new Map<string, StrategySpec>();
  readonly book = new OrderBook();
  private readonly seq = new Map<string, number>();
  private readonly lastPrices = new Map<string, number>();
  private readonly positions = new Map<string, number>(); // `${strategy}|${symbol}` → net qty
  private readonly inflight = new Map<string, Promise<IntentReply>>();
  private readonly writing = new Set<Promise<unknown>>();
  private log: Logger;
  private events: EventLog | undefined;
  private gates: IntentGate[];

  constructor(private readonly opts: BrokerActorOptions) {
    for (const a of opts.adapters) this.venues.set(a.venue, a);
    this.setStrategies(opts.strategies);
    this.log = opts.log;
    this.gates = opts.gates ?? [];
  }

  get connection(): NatsConnection | undefined {
    return this.nc;
  }

  setGates(gates: IntentGate[]): void {
    this.gates = gates;
  }

  async start(): Promise<void> {
    const o: Parameters<typeof connectBus>[0] = { servers: this.opts.natsUrl, name: 'broker' };
    if (this.opts.natsUser) o.user = this.opts.natsUser;
    if (this.opts.natsPass) o.pass = this.opts.natsPass;
    this.nc = await connectBus(o);
    this.events = this.opts.eventLog?.(this.nc);
    for (const a of this.venues.values()) this.wireVenue(a);
    this.subs.push(
      subscribeParsed(this.nc, subjects.intentAll(), IntentSchema, (intent, msg) => this.onIntent(intent, msg), {
        log: this.log,
        queue: 'broker',
        onInvalid: (msg, error) => this.replyInvalid(msg, error),
      }),
    );
    for (const a of this.venues.values()) {
      await a.start();
      metrics.wsConnected.set({ venue: a.venue }, a.connected() ? 1 : 0);
    }
    await this.syncInstruments();
    await this.nc.flush();
    this.publishEvent({ type: 'BrokerReady', ts: this.opts.clock.now() });
    this.log.info({ venues: [...this.venues.keys()] }, 'broker ready');
  }

  async stop(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    for (const a of this.venues.values()) await a.stop().catch((err) => this.log.warn({ err }, 'venue stop failed'));
    await this.nc?.drain().catch(() => undefined);
  }

  setStrategies(specs: readonly StrategySpec[]): void {
    this.strategies = new Map(specs.map((s) => [s.id, s]));
  }

  /** Subscribes each venue to the union of what the running strategies declare. */
  async syncInstruments(): Promise<void> {
    for (const a of this.venues.values()) {
      const wanted = new Set<string>();
      for (const s of this.strategies.values()) if (s.venue === a.venue && s.enabled) for (const i of s.instruments) wanted.add(i);
      await a.setInstruments([...wanted].sort());
    }
  }

  position(strategyId: string, symbol: string): number {
    return this.positions.get(`${strategyId}|${symbol}`) ?? 0;
  }

  lastPrice(venue: Venue, symbol: string): number | undefined {
    return this.lastPrices.get(`${venue}|${symbol}`);
  }

  private wireVenue(a: VenueAdapter): void {
    a.on('tick', (t) => this.onTick(a.venue, t));
    a.on('order', (o) => this.onVenueOrder(a.venue, o));
    a.on('disconnected', (reason) => {
      metrics.wsConnected.set({ venue: a.venue }, 0);
      this.log.warn({ venue: a.venue, reason }, 'venue disconnected');
      this.publishEvent({ type: 'BrokerDisconnected', venue: a.venue, reason, ts: this.opts.clock.now() });
    });
    a.on('reconnected', () => {
      metrics.wsConnected.set({ venue: a.venue }, 1);
      metrics.wsReconnectsTotal.inc({ venue: a.venue });
      this.publishEvent({ type: 'BrokerReconnected', venue: a.venue, ts: this.opts.clock.now() });
    });
    a.on('reconcile', () => void this.refreshOrders(a));
  }

  private onTick(venue: Venue, t: VenueTick): void {
    if (!this.nc) return;
    const key = `${venue}|${t.symbol}`;
    const seq = (this.seq.get(key) ?? 0) + 1;
    this.seq.set(key, seq);
    this.lastPrices.set(key, t.last);
    const now = this.opts.clock.now();
    metrics.ticksTotal.inc({ venue });
    metrics.tickLagSeconds.observe({ venue }, Math.max(0, now - t.ts) / 1000);
    publishJson(this.nc, subjects.marketData(venue, t.symbol), TickSchema, { type: 'tick', venue, seq, recvTs: now, ...t });
  }

  private replyInvalid(msg: Msg, error: string): void {
    if (!msg.reply) return;
    msg.respond(encodeJson(IntentReplySchema, { status: 'denied', intentId: '', rule: 'invalid_payload', reason: error }));
  }

  private async onIntent(intent: Intent, msg: Msg): Promise<void> {
    // The subject names the sender (nats.conf lets a strategy publish only on its own); the body must agree.
    const expected = subjects.intent(intent.strategyId);
    const reply = msg.subject !== expected
      ? this.deny(intent, 'strategy_mismatch', `intent for ${intent.strategyId} arrived on ${msg.subject}`)
      : await this.decide(intent);
    if (msg.reply) msg.respond(encodeJson(IntentReplySchema, reply));
  }

  /** One decision per intent id: a resent intent gets the first answer, never a second order. */
  private decide(intent: Intent): Promise<IntentReply> {
    const known = this.inflight.get(intent.intentId);
    if (known) return known.then((r) => (r.status === 'accepted' ? { ...r, duplicate: true } : r));
    const p = this.handle(intent);
    this.inflight.set(intent.intentId, p);
    return p;
  }

  private async handle(intent: Intent): Promise<IntentReply> {
    this.events?.record({ kind: 'intent', strategyId: intent.strategyId, intentId: intent.intentId, ts: this.opts.clock.now(), intent });
    switch (intent.action) {
      case 'place':
        return this.place(intent);
      case 'cancel':
        return this.cancel(intent);
      case 'modify':
        return this.deny(intent, 'unsupported', 'modify is not supported yet; cancel and place instead');
      default: {
        const never: never = intent;
        return never;
      }
    }
  }

  private deny(intent: Intent, rule: string, reason: string, figures?: Record<string, number | string>): IntentReply {
    metrics.intentsDeniedTotal.inc({ strategy: intent.strategyId, rule });
    this.events?.record({ kind: 'decision', strategyId: intent.strategyId, intentId: intent.intentId, ts: this.opts.clock.now(), decision: 'denied', rule, reason, figures });
    this.log.info({ strategy: intent.strategyId, intentId: intent.intentId, rule, reason }, 'intent denied');
    return { status: 'denied', intentId: intent.intentId, rule, reason, ...(figures ? { figures } : {}) };
  }

  private async place(intent: PlaceIntent): Promise<IntentReply> {
    const spec = this.strategies.get(intent.strategyId);
    if (!spec) return this.deny(intent, 'unknown_strategy', `strategy ${intent.strategyId} is not registered`);
    const venue = this.venues.get(intent.venue);
    if (!venue) return this.deny(intent, 'unknown_venue', `venue ${intent.venue} is not configured`);
    if (spec.venue !== intent.venue) return this.deny(intent, 'wrong_venue', `strategy ${spec.id} trades on ${spec.venue}`);
    if (!venue.connected()) return this.deny(intent, 'broker_disconnected', `${intent.venue} is disconnected; submissions resume after reconnect and reconciliation`);
    if (intent.orderType === 'LIMIT' && intent.limitPrice === undefined) return this.deny(intent, 'invalid_order', 'LIMIT order needs limitPrice');
    const view: GateView = {
      spec,
      position: (symbol) => this.position(spec.id, symbol),
      openOrders: this.book.open(spec.id),
      lastPrice: (v, s) => this.lastPrice(v, s),
      now: this.opts.clock.now(),
    };
    for (const gate of this.gates) {
      const d = gate(intent, view);
      if (!d.ok) return this.deny(intent, d.rule, d.reason, d.figures);
    }
    return this.submit(intent, venue, 'place');
  }

  /**
   * The broker's own order at kill priority, past every gate: level 4 closes positions with
   * these. Booked under the strategy whose position it closes, so fills and updates reach it.
   */
  async placeForKill(intent: PlaceIntent): Promise<IntentReply> {
    const venue = this.venues.get(intent.venue);
    if (!venue) return this.deny(intent, 'unknown_venue', `venue ${intent.venue} is not configured`);
    this.events?.record({ kind: 'intent', strategyId: intent.strategyId, intentId: intent.intentId, ts: this.opts.clock.now(), intent });
    return this.submit(intent, venue, 'kill');
  }

  private async submit(intent: PlaceIntent, venue: VenueAdapter, priority: 'place' | 'kill'): Promise<IntentReply> {
    const spec = { id: intent.strategyId };
    const rec = this.book.register(intent, this.opts.clock.now());
    this.events?.record({ kind: 'decision', strategyId: spec.id, intentId: intent.intentId, ts: this.opts.clock.now(), decision: 'accepted' });
    metrics.ordersSubmittedTotal.inc({ strategy: spec.id, venue: intent.venue });
    try {
      const req = { intentId: intent.intentId, symbol: intent.symbol, side: intent.side, qty: intent.qty, orderType: intent.orderType, ...(intent.limitPrice !== undefined ? { limitPrice: intent.limitPrice } : {}) };
      this.events?.record({ kind: 'venue_write', strategyId: spec.id, intentId: intent.intentId, ts: this.opts.clock.now(), request: req });
      // A kill-switch cancel waits for writes in flight, so no order it cannot see slips past it.
      const write = venue.place(req, priority);
      this.writing.add(write);
      const { venueOrderId } = await write.finally(() => this.writing.delete(write));
      this.book.bind(intent.intentId, venueOrderId);
      this.events?.record({ kind: 'venue_answer', strategyId: spec.id, intentId: intent.intentId, ts: this.opts.clock.now(), venueOrderId });
      this.publishOrder(rec);
      return { status: 'accepted', intentId: intent.intentId, venueOrderId };
    } catch (e) {
      const err = e instanceof VenueError ? e : new VenueError({ venue: intent.venue, kind: 'GeneralException', message: (e as Error).message, cause: e });
      this.book.reject(intent.intentId, err.message, this.opts.clock.now());
      this.events?.record({ kind: 'venue_answer', strategyId: spec.id, intentId: intent.intentId, ts: this.opts.clock.now(), error: err.toWire() });
      metrics.ordersTotal.inc({ strategy: spec.id, venue: intent.venue, outcome: 'rejected' });
      this.publishOrder(rec);
      if (err.kind === 'MarginException') this.opts.onMarginException?.(spec.id, err);
      return this.deny(intent, `venue_${err.kind}`, err.message, err.status !== undefined ? { status: err.status } : undefined);
    }
  }

  private async cancel(intent: CancelIntent): Promise<IntentReply> {
    const target = this.book.get(intent.targetIntentId);
    if (!target || target.strategyId !== intent.strategyId) return this.deny(intent, 'unknown_order', `no order ${intent.targetIntentId} for ${intent.strategyId}`);
    if (isTerminal(target.state)) return this.deny(intent, 'order_closed', `order ${intent.targetIntentId} is already ${target.state}`);
    if (!target.venueOrderId) return this.deny(intent, 'order_pending', `order ${intent.targetIntentId} has no venue id yet`);
    const venue = this.venues.get(target.venue)!;
    try {
      await venue.cancel(target.venueOrderId, 'cancel');
      return { status: 'accepted', intentId: intent.intentId, venueOrderId: target.venueOrderId };
    } catch (e) {
      const err = e instanceof VenueError ? e : new VenueError({ venue: target.venue, kind: 'GeneralException', message: (e as Error).message });
      return this.deny(intent, `venue_${err.kind}`, err.message);
    }
  }

  /** Cancels every open order (kill levels 3-4, or one strategy at level 1). Kill priority in the limiter. */
  async cancelAll(strategyId?: string): Promise<number> {
    await Promise.allSettled([...this.writing]);
    let n = 0;
    for (const o of this.book.open(strategyId)) {
      if (!o.venueOrderId) continue;
      const venue = this.venues.get(o.venue);
      try {
        await venue?.cancel(o.venueOrderId, 'kill');
        n++;
      } catch (err) {
        this.log.error({ err, intentId: o.intentId }, 'kill cancel failed');
      }
    }
    return n;
  }

  private onVenueOrder(venue: Venue, o: VenueOrder): void {
    const r = this.book.apply(o);
    if (!r) {
      if (o.intentId) this.log.warn({ venue, venueOrderId: o.venueOrderId, intentId: o.intentId }, 'update for an order with our tag but no record');
      return;
    }
    if (!r.changed) return;
    const rec = r.record;
    if (r.fill) {
      const key = `${rec.strategyId}|${rec.symbol}`;
      this.positions.set(key, (this.positions.get(key) ?? 0) + (rec.side === 'BUY' ? r.fill.qty : -r.fill.qty));
      this.events?.record({ kind: 'fill', strategyId: rec.strategyId, intentId: rec.intentId, ts: r.fill.ts, fill: r.fill, symbol: rec.symbol, side: rec.side }, `fill:${r.fill.fillId}`);
    }
    this.events?.record({ kind: 'order_state', strategyId: rec.strategyId, intentId: rec.intentId, ts: this.opts.clock.now(), state: rec.state, venueStatus: rec.venueStatus, filledQty: rec.filledQty });
    if (isTerminal(rec.state)) metrics.ordersTotal.inc({ strategy: rec.strategyId, venue, outcome: rec.state });
    this.publishOrder(rec, r.fill);
  }

  private publishOrder(rec: OrderRecord, fill?: import('../actors/messages.ts').Fill): void {
    if (!this.nc || !rec.venueOrderId && rec.state !== 'rejected') return;
    publishJson(this.nc, subjects.orderUpdate(rec.strategyId, rec.intentId), OrderUpdateSchema, {
      type: 'order', strategyId: rec.strategyId, intentId: rec.intentId, venue: rec.venue, venueOrderId: rec.venueOrderId ?? 'none',
      symbol: rec.symbol, side: rec.side, state: rec.state, venueStatus: rec.venueStatus, qty: rec.qty, filledQty: rec.filledQty,
      ts: this.opts.clock.now(),
      ...(rec.avgPrice !== undefined ? { avgPrice: rec.avgPrice } : {}),
      ...(fill ? { fill } : {}),
      ...(rec.message ? { message: rec.message } : {}),
    });
  }

  /** REST view of every order: the fallback when pushes go quiet, and after reconnects. */
  async refreshOrders(a: VenueAdapter): Promise<void> {
    try {
      for (const o of await a.orders()) this.onVenueOrder(a.venue, o);
    } catch (err) {
      this.log.warn({ err, venue: a.venue }, 'order refresh failed');
    }
  }

  publishEvent(e: BrokerEvent): void {
    if (!this.nc) return;
    publishJson(this.nc, subjects.brokerEvents(), BrokerEventSchema, e);
    this.events?.record({ kind: 'broker', ts: e.ts, event: e });
  }
}
