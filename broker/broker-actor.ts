import type { z } from 'zod';
import type { NatsConnection, Msg, Subscription } from '@nats-io/transport-node';
import { connectBus, subscribeParsed, publishJson, encodeJson } from '../actors/bus.ts';
import { subjects } from '../actors/subjects.ts';
import {
  IntentSchema, IntentReplySchema, TickSchema, OrderUpdateSchema, BrokerEventSchema, LastTicksRequestSchema, LastTicksReplySchema,
  StrategyStateRequestSchema, StrategyStateReplySchema,
  type Intent, type IntentReply, type PlaceIntent, type BrokerEvent, clip, MAX_INTENT_BYTES, type Venue,
} from '../actors/messages.ts';
import { metrics } from '../actors/metrics.ts';
import type { StrategySpec } from '../config/registry.ts';
import type { ReconcileReport } from './events/schema.ts';
import { wantedInstruments } from './instruments.ts';
import type { KillSource } from './intents.ts';
import type { OrderBook } from './order-book.ts';
import { buildOrderPath, reconcileHost, type OrderPath } from './order-path.ts';
import type { BrokerActorOptions } from './broker-options.ts';
import { positionOf, type Projection } from './projection/projection.ts';
import { ReconcileRunner } from './reconcile/runner.ts';
import { ReconcileRequestSchema, ReconcileReplySchema } from './reconcile/wire.ts';
import type { VenueAdapter } from './venue.ts';

export type { KillSource };
export type { BrokerActorOptions };


/**
 * The only code that talks to venues, wired to NATS: intents in (broker/intents.ts decides,
 * broker/orders.ts writes), ticks out (broker/market-data.ts), order updates out
 * (broker/order-updates.ts), reconciliation on request. Strategies never see a venue, only
 * these subjects (docs/architecture.md).
 */
export class BrokerActor {
  private nc: NatsConnection | undefined;
  private readonly subs: Subscription[] = [];
  private readonly venues = new Map<Venue, VenueAdapter>();
  private strategies = new Map<string, StrategySpec>();
  /** The parts (broker/order-path.ts): the actor only wires them to NATS. */
  private readonly path: OrderPath;
  private reconciler!: ReconcileRunner;
  /** Set when the lease is lost: this broker must not touch a venue again. */
  private fenced: string | undefined;
  /** Replayed, venues started and reconciled: intents are judged from here on (until then `broker_unavailable`). */
  private ready = false;

  constructor(private readonly opts: BrokerActorOptions) {
    const { clock, log } = opts;
    for (const a of opts.adapters) this.venues.set(a.venue, a);
    this.setStrategies(opts.strategies);
    this.path = buildOrderPath({
      venues: this.venues, strategies: () => this.strategies, kill: opts.kill, clock, log,
      publishTick: (t) => this.announce(subjects.marketData(t.venue, t.symbol), TickSchema, t),
      publishOrder: (u) => this.announce(subjects.orderUpdate(u.strategyId, u.intentId), OrderUpdateSchema, u),
      fenced: () => this.fenced ?? this.opts.leaseUnsafe?.(), reconciled: (v) => this.reconciler.hasPassed(v),
      outsideChange: (v) => this.reconcileVenue(v, 'venue_update'),
      ...(opts.limiter ? { limiter: opts.limiter } : {}), ...(opts.onMarginException ? { onMarginException: opts.onMarginException } : {}),
      ...(opts.maxPlaceWaitMs !== undefined ? { maxRateWaitMs: opts.maxPlaceWaitMs } : {}), ...(opts.refusalLog ? { refusalLog: opts.refusalLog } : {}),
    });
  }

  get connection(): NatsConnection | undefined { return this.nc; }
  /** Orders, positions and P&L: a fold of the event log, replayed at start (broker/projection/). */
  get projection(): Projection { return this.path.ledger.projection; }
  get book(): OrderBook { return this.path.ledger.book; }

  async start(): Promise<void> {
    const { clock, log } = this.opts;
    this.nc = await connectBus({ servers: this.opts.natsUrl, name: 'broker', ...(this.opts.natsUser ? { user: this.opts.natsUser } : {}), ...(this.opts.natsPass ? { pass: this.opts.natsPass } : {}) });
    this.path.ledger.attach(this.opts.eventLog?.(this.nc));
    await this.path.ledger.replay(this.nc, this.venues.values());
    const host = reconcileHost(this.path, {
      log, ...(this.opts.onReconcileMismatch ? { onMismatch: this.opts.onReconcileMismatch } : {}),
      announce: (r) => this.publishEvent({ type: 'Reconciled', venue: r.venue, ok: r.result === 'ok' || r.result === 'resolved', result: r.result, differences: r.differences.length, ts: r.ts }, false),
    });
    this.reconciler = new ReconcileRunner({ host, adapters: [...this.venues.values()], clock, log, intervalMs: this.opts.reconcileIntervalMs ?? 0, ...(this.opts.externalAtStart ? { externalAtStart: this.opts.externalAtStart } : {}) });
    this.path.marketData.start();
    for (const a of this.venues.values()) this.wireVenue(a);
    // A made-up id on an open server must not become a metric or dead-letter label.
    const label = (id: string | undefined) => this.path.intents.labelOf(id);
    // Not in a queue group: a frozen broker still connected would otherwise be handed half the
    // intents, which no one answers; every broker hears every intent and only the lease holder
    // answers (onIntent).
    this.subs.push(subscribeParsed(this.nc, subjects.intentAll(), IntentSchema, (intent, msg) => this.onIntent(intent, msg), {
      log, concurrent: true, maxBytes: MAX_INTENT_BYTES, onInvalid: (msg, error) => this.replyInvalid(msg, error),
      metricSubject: (subject) => subjects.intent(label(subjects.intentSender(subject))),
    }));
    for (const a of this.venues.values()) {
      await a.start();
      metrics.wsConnected.set({ venue: a.venue }, a.connected() ? 1 : 0);
    }
    await this.syncInstruments();
    await this.nc.flush();
    // No intent is accepted for a venue until this first run has completed (rule not_reconciled).
    await this.reconcileNow('start');
    // Only now the request paths: a strategy's positions and open orders, its last ticks and an
    // operator's reconciliation are answered from a replayed and reconciled broker, never from
    // one still starting (after a failover, the old broker's fills since its last event are known
    // only once reconciled). Until then nobody answers, which the asker sees as "no responders".
    this.serveRequests();
    await this.nc.flush();
    this.ready = true;
    this.reconciler.startPeriodic();
    this.publishEvent({ type: 'BrokerReady', ts: clock.now() });
    log.info({ venues: [...this.venues.keys()] }, 'broker ready');
  }

  async stop(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    this.path.intents.drainRefusals();
    await this.reconciler?.stop();
    this.path.marketData.stop();
    await this.path.ledger.flush(this.opts.stopFlushMs ?? 10_000);
    for (const a of this.venues.values()) await a.stop().catch((err) => this.opts.log.warn({ err }, 'venue stop failed'));
    // A drain needs the server; without one, close, or the reconnect loop keeps the process alive.
    await this.nc?.drain().catch(() => this.nc?.close().catch(() => undefined));
  }

  setStrategies(specs: readonly StrategySpec[]): void {
    this.strategies = new Map(specs.map((s) => [s.id, s]));
  }

  /** Subscribes each venue to the union of what the running strategies declare. */
  async syncInstruments(): Promise<void> {
    for (const a of this.venues.values()) {
      const wanted = wantedInstruments(this.strategies.values(), a.venue);
      await a.setInstruments([...wanted.keys()], wanted);
      this.path.marketData.watch(a.venue, wanted.size > 0);
    }
  }

  position(strategyId: string, symbol: string): number { return positionOf(this.projection, strategyId, symbol); }
  lastPrice(venue: Venue, symbol: string): number | undefined { return this.path.marketData.lastPrice(venue, symbol); }
  /** Cancels every open order (kill levels 3-4, or one strategy at level 1). */
  cancelAll(strategyId?: string): Promise<number> { return this.path.orders.cancelAll(strategyId); }
  /** The kill switch's own closing order, past every rule but the lease (broker/intents.ts). */
  placeForKill(intent: PlaceIntent, marketProtection?: number): Promise<IntentReply> { return this.path.intents.placeForKill(intent, marketProtection); }
  cancelForKill(intentId: string): Promise<boolean> { return this.path.orders.cancelForKill(intentId); }
  refreshOrders(a: VenueAdapter): Promise<void> { return this.path.updates.refresh(a); }

  /** Runs reconciliation for every venue now; the same path as start, reconnect and periodic runs. */
  reconcileNow(trigger: ReconcileReport['trigger'], acceptExternal = false): Promise<ReconcileReport[]> {
    return this.reconciler.runAll(trigger, acceptExternal);
  }

  /**
   * Called when the lease is lost: no venue is touched again by this process, and it answers
   * nothing more (its subscriptions go, so a queue group's requests reach the new leader only).
   */
  fence(reason: string): void {
    this.fenced = reason;
    for (const s of this.subs.splice(0)) s.unsubscribe();
    void this.reconciler?.stop();
    this.opts.log.error({ reason }, 'broker fenced: lease lost');
  }

  publishEvent(e: BrokerEvent, log = true): void {
    this.announce(subjects.brokerEvents(), BrokerEventSchema, e);
    if (log) this.path.ledger.emit({ kind: 'broker', ts: e.ts, event: e });
  }



  /** Ready (replayed, reconciled) and able to vouch for its lease: may answer requests now. */
  serving(): boolean {
    return this.ready && this.silent() === undefined;
  }

  /** Why this broker must stay silent now (its lease is lost or cannot be vouched for), if so. */
  private silent(): string | undefined {
    return this.fenced ?? this.opts.leaseUnsafe?.();
  }

  /** The request paths other than intents, for a broker that is ready and holds its lease. */
  private serveRequests(): void {
    const nc = this.nc!;
    const { log } = this.opts;
    if (this.fenced !== undefined) return;
    const label = (id: string | undefined) => this.path.intents.labelOf(id);
    const stateOf = (subject: string) => subject.slice(subjects.strategyState('x').length - 1);
    this.subs.push(
      subscribeParsed(nc, subjects.reconcileRequest(), ReconcileRequestSchema, async (req, msg) => {
        if (this.silent() !== undefined) return;
        if (req.acceptExternal) log.warn({ by: req.by }, 'operator accepts positions outside the strategies as the new baseline');
        const reports = await this.reconcileNow('operator', req.acceptExternal ?? false);
        if (msg.reply) msg.respond(encodeJson(ReconcileReplySchema, { reports }));
      }, { log }),
      // A queue group: one broker answers. A frozen holder still connected is a member until it
      // wakes and fences itself; until then it answers nothing it cannot vouch for.
      subscribeParsed(nc, subjects.lastTicks(), LastTicksRequestSchema, (req, msg) => {
        if (this.silent() !== undefined) return;
        if (msg.reply) msg.respond(encodeJson(LastTicksReplySchema, { ticks: this.path.marketData.lastTicks(req.venue, req.symbols) }));
      }, { log, queue: 'broker' }),
      subscribeParsed(nc, subjects.strategyStateAll(), StrategyStateRequestSchema, (_req, msg) => {
        if (this.silent() !== undefined) return;
        if (msg.reply) msg.respond(encodeJson(StrategyStateReplySchema, this.path.ledger.strategyState(stateOf(msg.subject))));
      }, { log, queue: 'broker', maxBytes: MAX_INTENT_BYTES, metricSubject: (subject) => subjects.strategyState(label(stateOf(subject))) }),
    );
  }

  /** A run for one venue that nobody waits on (a push or a reconnect asked for it); a failed run reports itself. */
  private reconcileVenue(venue: Venue, trigger: 'reconnect' | 'venue_update'): void {
    const a = this.venues.get(venue);
    if (a && this.reconciler) void this.reconciler.run(a, trigger);
  }

  private wireVenue(a: VenueAdapter): void {
    const now = () => this.opts.clock.now();
    a.on('tick', (t) => this.path.marketData.onTick(a.venue, t));
    a.on('order', (o) => this.path.updates.onVenueOrder(a.venue, o));
    a.on('disconnected', (reason) => {
      metrics.wsConnected.set({ venue: a.venue }, 0);
      this.opts.log.warn({ venue: a.venue, reason }, 'venue disconnected');
      this.publishEvent({ type: 'BrokerDisconnected', venue: a.venue, reason: clip(reason), ts: now() });
    });
    a.on('reconnected', () => {
      metrics.wsConnected.set({ venue: a.venue }, 1);
      metrics.wsReconnectsTotal.inc({ venue: a.venue });
      this.publishEvent({ type: 'BrokerReconnected', venue: a.venue, ts: now() });
    });
    a.on('reconcile', (trigger) => this.reconcileVenue(a.venue, trigger ?? 'reconnect'));
  }

  private async onIntent(intent: Intent, msg: Msg): Promise<void> {
    // The sender is the one the subject names: the generated NATS permissions let each
    // strategy's user publish on its own intent subject only (supervisor/nats-auth.ts). The
    // body's id is a claim that must agree.
    const sender = subjects.intentSender(msg.subject);
    // Fenced: silent. The leader's answer is the one the strategy must hear, and an early
    // not_leader from here would beat it to the requester.
    const fenced = this.silent();
    if (fenced !== undefined) {
      this.opts.log.warn({ intentId: intent.intentId, strategy: intent.strategyId, reason: fenced }, 'intent ignored: this broker does not hold the lease');
      return;
    }
    const reply = sender === undefined || subjects.intent(intent.strategyId) !== msg.subject
      ? this.path.intents.deny(intent, 'strategy_mismatch', `intent for ${intent.strategyId} arrived on ${msg.subject}`, undefined, this.path.intents.labelOf(sender))
      // Still replaying or reconciling (a failover, a restart): not judged now, so not placed twice later.
      : this.ready ? await this.path.intents.answer(intent) : this.path.intents.notReady(intent);
    if (msg.reply) msg.respond(encodeJson(IntentReplySchema, reply));
  }

  private replyInvalid(msg: Msg, error: string): void {
    if (!msg.reply) return;
    msg.respond(encodeJson(IntentReplySchema, { status: 'denied', intentId: '', rule: 'invalid_payload', reason: clip(error) }));
  }

  /**
   * Every broker publish goes through here. A broker going down (or killed) cannot announce:
   * a venue push or a run finishing after the connection closed must not throw out of a socket
   * handler or timer. What matters is in the event log, which the next broker replays.
   */
  private announce<S extends z.ZodType>(subject: string, schema: S, payload: z.input<S>): void {
    if (!this.nc) return;
    if (this.nc.isClosed() || this.nc.isDraining()) {
      this.opts.log.debug({ subject }, 'bus closed: not announced');
      return;
    }
    publishJson(this.nc, subject, schema, payload);
  }
}
