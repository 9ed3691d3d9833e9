import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { connectBus } from '../actors/bus.ts';
import { subjects } from '../actors/subjects.ts';
import { TickSchema, OrderUpdateSchema, BrokerEventSchema, type IntentReply, type PlaceIntent, type BrokerEvent, type Venue } from '../actors/messages.ts';
import type { StrategySpec } from '../config/registry.ts';
import type { ReconcileReport } from './events/schema.ts';
import type { KillSource } from './intents.ts';
import type { OrderBook } from './order-book.ts';
import { buildOrderPath, type OrderPath } from './order-path.ts';
import type { BrokerActorOptions } from './broker-options.ts';
import { Announcer, serveRequests, subscribeIntents, type BrokerDoors } from './broker-nats.ts';
import { positionOf, type Projection } from './projection/projection.ts';
import type { ReconcileRunner } from './reconcile/runner.ts';
import type { VenueAdapter } from './venue.ts';
import { brokerReconciler, reconcileVenue, startVenues, syncInstruments, wireVenue } from './venue-wiring.ts';

export type { KillSource };
export type { BrokerActorOptions };

/**
 * The only code that talks to venues, wired to NATS: intents and requests in
 * (broker/broker-requests.ts; broker/intents.ts decides, broker/orders.ts writes), ticks out
 * (broker/market-data.ts), order updates out (broker/order-updates.ts), venue events in
 * (broker/venue-wiring.ts), reconciliation on request. Strategies never see a venue, only these
 * subjects (docs/architecture.md).
 */
export class BrokerActor {
  private readonly out: Announcer;
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
    this.out = new Announcer(log);
    for (const a of opts.adapters) this.venues.set(a.venue, a);
    this.setStrategies(opts.strategies);
    this.path = buildOrderPath({
      venues: this.venues, strategies: () => this.strategies, kill: opts.kill, clock, log,
      publishTick: (t) => this.out.announce(subjects.marketData(t.venue, t.symbol), TickSchema, t),
      publishOrder: (u) => this.out.announce(subjects.orderUpdate(u.strategyId, u.intentId), OrderUpdateSchema, u),
      fenced: () => this.silent(), reconciled: (v) => this.reconciler.hasPassed(v),
      outsideChange: (v) => reconcileVenue(this.venues, this.silent() === undefined ? this.reconciler : undefined, v, 'venue_update'),
      ...(opts.limiter ? { limiter: opts.limiter } : {}), ...(opts.onMarginException ? { onMarginException: opts.onMarginException } : {}),
      ...(opts.maxPlaceWaitMs !== undefined ? { maxRateWaitMs: opts.maxPlaceWaitMs } : {}), ...(opts.refusalLog ? { refusalLog: opts.refusalLog } : {}),
    });
    if (opts.tickEpoch) this.path.marketData.setEpoch(opts.tickEpoch);
  }

  get connection(): NatsConnection | undefined { return this.out.nc; }
  /** Orders, positions and P&L: a fold of the event log, replayed at start (broker/projection/). */
  get projection(): Projection { return this.path.ledger.projection; }
  get book(): OrderBook { return this.path.ledger.book; }

  async start(): Promise<void> {
    const { clock, log } = this.opts;
    const nc = this.out.nc = await connectBus({ servers: this.opts.natsUrl, name: 'broker', ...(this.opts.natsUser ? { user: this.opts.natsUser } : {}), ...(this.opts.natsPass ? { pass: this.opts.natsPass } : {}) });
    this.path.ledger.attach(this.opts.eventLog?.(nc));
    await this.path.ledger.replay(nc, this.venues.values());
    this.reconciler = brokerReconciler(this.path, this.venues.values(), this.opts, (e, logIt) => this.publishEvent(e, logIt), () => this.silent());
    this.path.marketData.start();
    for (const a of this.venues.values()) wireVenue(a, { path: this.path, clock, log, publishEvent: (e) => this.publishEvent(e), reconcile: (t) => reconcileVenue(this.venues, this.silent() === undefined ? this.reconciler : undefined, a.venue, t) });
    this.subs.push(subscribeIntents(this.doors()));
    await startVenues(this.venues.values());
    await this.syncInstruments();
    await nc.flush();
    // No intent is accepted for a venue until this first run has completed (rule not_reconciled).
    await this.reconcileNow('start');
    // Only now the request paths: answered by a replayed and reconciled broker, never one still starting (after
    // a failover the old broker's last fills are known only once reconciled); until then, "no responders".
    if (this.fenced === undefined) this.subs.push(...serveRequests(this.doors()));
    await nc.flush();
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
    await this.out.nc?.drain().catch(() => this.out.nc?.close().catch(() => undefined));
  }

  setStrategies(specs: readonly StrategySpec[]): void {
    this.strategies = new Map(specs.map((s) => [s.id, s]));
  }

  /** Subscribes each venue to the union of what the running strategies declare. */
  syncInstruments(): Promise<void> { return syncInstruments(this.venues.values(), this.strategies.values(), this.path); }

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
    this.out.announce(subjects.brokerEvents(), BrokerEventSchema, e);
    if (log) this.path.ledger.emit({ kind: 'broker', ts: e.ts, event: e });
  }

  /** Ready (replayed, reconciled) and able to vouch for its lease: may answer requests now. */
  serving(): boolean { return this.ready && this.silent() === undefined; }

  /** Why this broker must stay silent now (its lease is lost or cannot be vouched for), if so. */
  private silent(): string | undefined {
    return this.fenced ?? this.opts.leaseUnsafe?.();
  }

  /** What the NATS doors (broker/broker-requests.ts) need of this actor. */
  private doors(): BrokerDoors {
    return { nc: this.out.nc!, log: this.opts.log, path: this.path, silent: () => this.silent(), ready: () => this.ready, reconcileNow: (t, x) => this.reconcileNow(t, x) };
  }
}
