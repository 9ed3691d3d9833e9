import type { RateLimiter } from './limiter/types.ts';
import type { z } from 'zod';
import type { NatsConnection, Msg, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { connectBus, subscribeParsed, publishJson, encodeJson } from '../actors/bus.ts';
import { subjects } from '../actors/subjects.ts';
import {
  IntentSchema, IntentReplySchema, TickSchema, OrderUpdateSchema, BrokerEventSchema, LastTicksRequestSchema, LastTicksReplySchema, type Tick,
  StrategyStateRequestSchema, StrategyStateReplySchema, type StrategyStateReply,
  type Intent, type IntentReply, type PlaceIntent, type CancelIntent, type ModifyIntent, type BrokerEvent, clip, MAX_INTENT_BYTES, MAX_NAME, type Venue,
} from '../actors/messages.ts';
import { LogThrottle } from '../actors/log-throttle.ts';
import { metrics } from '../actors/metrics.ts';
import { TickAge } from './tick-age.ts';
import { VenueError } from './venue-errors.ts';
import { isTerminal, type OrderBook, type OrderRecord } from './order-book.ts';
import { wantedInstruments } from './instruments.ts';
import type { VenueAdapter, VenueModifyRequest, VenueOrder, VenueOrderRequest, VenueTick } from './venue.ts';
import type { GateTarget } from './risk/gate.ts';
import { readEvents, type EventLog } from './event-log.ts';
import type { Difference, LogEvent, ReconcileReport } from './events/schema.ts';
import { applyEvent, emptyProjection, positionOf, positions, type Projection } from './projection/projection.ts';
import { orderUpdateEvents, type Emit } from './projection/order-events.ts';
import { ReconcileRunner } from './reconcile/runner.ts';
import { ReconcileRequestSchema, ReconcileReplySchema } from './reconcile/wire.ts';
import type { StrategySpec } from '../config/registry.ts';

/** What the venue is asked for (and what the write-ahead records): the intent less its routing fields. */
function orderRequest(intent: PlaceIntent, marketProtection?: number): VenueOrderRequest {
  return {
    intentId: intent.intentId, symbol: intent.symbol, side: intent.side, qty: intent.qty, orderType: intent.orderType,
    ...(intent.limitPrice !== undefined ? { limitPrice: intent.limitPrice } : {}),
    // Kite refuses a MARKET order without market protection (docs/venues/kite.md "Market protection").
    ...(intent.orderType === 'MARKET' && marketProtection !== undefined ? { marketProtection } : {}),
  };
}

/** The write-ahead did not store: the order was not sent (rule event_log_unavailable). */
class WriteAheadFailed extends Error {
  constructor(cause: unknown) {
    super((cause as Error | undefined)?.message ?? String(cause), { cause });
    this.name = 'WriteAheadFailed';
  }
}

export type Denial = { ok: false; rule: string; reason: string; figures?: Record<string, number | string> };
export type GateDecision = { ok: true } | Denial;

/** What a gate sees when it judges an intent: the broker's own state, never the strategy's claim. */
export type GateView = {
  spec: StrategySpec;
  position: (symbol: string) => number;
  openOrders: OrderRecord[];
  lastPrice: (venue: Venue, symbol: string) => number | undefined;
  now: number;
  /** For a modify: the order it changes, as the broker's book has it. */
  target?: GateTarget;
};

/** Pre-trade gates run in order; the first denial wins. Kill level first, then risk. */
export type IntentGate = (intent: PlaceIntent | ModifyIntent, view: GateView) => GateDecision;

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
  /** Periodic reconciliation (ms); 0 = only at start, after reconnects and on request. */
  reconcileIntervalMs?: number;
  /**
   * How long a stop waits for queued events to be stored (default 10 s). With nats-server gone
   * they never will be; what they said (fills, states) is recovered from the venue by the
   * reconciliation at the next start, so a stop must not hang on them.
   */
  stopFlushMs?: number;
  /** The shared limiter: a place or modify that would wait in it longer than `maxPlaceWaitMs` is denied. */
  limiter?: RateLimiter;
  /**
   * Longest a place or a modify may queue for the venue's rate limit (default 5 s, half a
   * strategy's reply deadline). Past it the intent is denied `rate_limited` before any write,
   * rather than sent after the strategy has given up on its answer.
   */
  maxPlaceWaitMs?: number;
  /** How many refusals per strategy are logged per window (default 20 a minute); the counter counts all. */
  refusalLog?: { perWindow?: number; windowMs?: number };
  /** An unexplained position difference: raise the kill switch to level 2. */
  onReconcileMismatch?: (venue: Venue, differences: Difference[]) => Promise<void>;
  /** At start, a position neither the log nor the venue's fills explain is a mismatch ('kill', default) or the baseline. */
  externalAtStart?: 'baseline' | 'kill';
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
  /** Orders, positions and P&L: a fold of the event log, replayed at start (broker/projection/). */
  readonly projection: Projection = emptyProjection();
  private reconciler!: ReconcileRunner;
  /** Set when the lease is lost: this broker must not touch a venue again. */
  private fenced: string | undefined;
  /** Live order reports held while a reconciliation of that venue compares (ReconcileHost.holdOrders). */
  private readonly heldOrders = new Map<Venue, VenueOrder[]>();
  private readonly seq = new Map<string, number>();
  /** The last tick published per instrument: served to strategies that start later. */
  private readonly lastTicks = new Map<string, Tick>();
  /** Intents being decided right now; once settled, the projection's decision answers a resend. */
  private readonly inflight = new Map<string, Promise<IntentReply>>();
  private readonly writing = new Set<Promise<unknown>>();
  /** Orders (by intent id) with a modify on its way, and their venue: a second one waits for none, it is refused. */
  private readonly modifying = new Map<string, Venue>();
  /** Places accepted per venue that have not had their answer yet (some still before the limiter). */
  private readonly placing = new Map<Venue, number>();
  private log: Logger;
  private tickAge: TickAge | undefined;
  private events: EventLog | undefined;
  private gates: IntentGate[];
  private readonly refusalLog: LogThrottle;

  constructor(private readonly opts: BrokerActorOptions) {
    for (const a of opts.adapters) this.venues.set(a.venue, a);
    this.setStrategies(opts.strategies);
    this.log = opts.log;
    this.gates = opts.gates ?? [];
    this.refusalLog = new LogThrottle(opts.refusalLog);
  }

  get connection(): NatsConnection | undefined {
    return this.nc;
  }

  get book(): OrderBook {
    return this.projection.book;
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
    if (this.events) await this.replay();
    this.reconciler = new ReconcileRunner({ host: this.reconcileHost(), adapters: [...this.venues.values()], clock: this.opts.clock, log: this.log, intervalMs: this.opts.reconcileIntervalMs ?? 0, ...(this.opts.externalAtStart ? { externalAtStart: this.opts.externalAtStart } : {}) });
    this.tickAge = new TickAge(this.opts.clock, metrics);
    for (const a of this.venues.values()) this.wireVenue(a);
    this.subs.push(
      subscribeParsed(this.nc, subjects.intentAll(), IntentSchema, (intent, msg) => this.onIntent(intent, msg), {
        log: this.log,
        queue: 'broker',
        onInvalid: (msg, error) => this.replyInvalid(msg, error),
        concurrent: true,
        maxBytes: MAX_INTENT_BYTES,
        metricSubject: (subject) => subjects.intent(this.labelOf(subjects.intentSender(subject))),
      }),
    );
    for (const a of this.venues.values()) {
      await a.start();
      metrics.wsConnected.set({ venue: a.venue }, a.connected() ? 1 : 0);
    }
    await this.syncInstruments();
    this.subs.push(
      subscribeParsed(this.nc, subjects.reconcileRequest(), ReconcileRequestSchema, async (req, msg) => {
        if (req.acceptExternal) this.log.warn({ by: req.by }, 'operator accepts positions outside the strategies as the new baseline');
        const reports = await this.reconcileNow('operator', req.acceptExternal ?? false);
        if (msg.reply) msg.respond(encodeJson(ReconcileReplySchema, { reports }));
      }, { log: this.log }),
    );
    this.subs.push(
      subscribeParsed(this.nc, subjects.lastTicks(), LastTicksRequestSchema, (req, msg) => {
        const ticks = req.symbols.flatMap((s) => this.lastTicks.get(`${req.venue}|${s}`) ?? []);
        if (msg.reply) msg.respond(encodeJson(LastTicksReplySchema, { ticks }));
      }, { log: this.log, queue: 'broker' }),
    );
    this.subs.push(
      subscribeParsed(this.nc, subjects.strategyStateAll(), StrategyStateRequestSchema, (_req, msg) => {
        const strategyId = msg.subject.slice(subjects.strategyState('x').length - 1);
        if (msg.reply) msg.respond(encodeJson(StrategyStateReplySchema, this.strategyState(strategyId)));
      }, {
        log: this.log, queue: 'broker', maxBytes: MAX_INTENT_BYTES,
        // A made-up id on an open server must not become a dead-letter label (as for intents).
        metricSubject: (subject) => subjects.strategyState(this.labelOf(subject.slice(subjects.strategyState('x').length - 1))),
      }),
    );
    await this.nc.flush();
    // No intent is accepted for a venue until this first run has completed (rule not_reconciled).
    await this.reconcileNow('start');
    this.reconciler.startPeriodic();
    this.publishEvent({ type: 'BrokerReady', ts: this.opts.clock.now() });
    this.log.info({ venues: [...this.venues.keys()] }, 'broker ready');
  }

  async stop(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    for (const { key, suppressed } of this.refusalLog.drain()) this.log.info({ strategy: key, suppressed }, 'intent refusals not logged (rate limit of the log)');
    await this.reconciler?.stop();
    this.tickAge?.stop();
    await this.flushEvents();
    for (const a of this.venues.values()) await a.stop().catch((err) => this.log.warn({ err }, 'venue stop failed'));
    // A drain needs the server; without one, close, or the reconnect loop keeps the process alive.
    await this.nc?.drain().catch(() => this.nc?.close().catch(() => undefined));
  }

  private async flushEvents(): Promise<void> {
    const events = this.events;
    if (!events) return;
    const { clock } = this.opts;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const gaveUp = new Promise<boolean>((r) => { timer = clock.setTimeout(() => r(true), this.opts.stopFlushMs ?? 10_000); });
    const lost = await Promise.race([events.flush().then(() => false), gaveUp]);
    clock.clearTimeout(timer);
    if (!lost) return;
    this.log.error({ queued: events.pending() }, 'stopping with events not stored (nats-server unreachable); the next start reconciles them from the venue');
    events.close();
  }

  setStrategies(specs: readonly StrategySpec[]): void {
    this.strategies = new Map(specs.map((s) => [s.id, s]));
  }

  /** Subscribes each venue to the union of what the running strategies declare. */
  async syncInstruments(): Promise<void> {
    for (const a of this.venues.values()) {
      const wanted = wantedInstruments(this.strategies.values(), a.venue);
      await a.setInstruments([...wanted.keys()], wanted);
      this.tickAge?.watch(a.venue, wanted.size > 0);
    }
  }

  /** What a starting strategy is told it holds: the same projection every gate reads. */
  strategyState(strategyId: string): StrategyStateReply {
    return {
      positions: positions(this.projection, strategyId).filter((p) => p.qty !== 0).map((p) => ({ symbol: p.symbol, qty: p.qty })),
      openOrders: this.book.open(strategyId).map((o) => ({
        intentId: o.intentId, symbol: o.symbol, side: o.side, qty: o.qty, filledQty: o.filledQty, state: o.state as 'pending' | 'open' | 'partially_filled',
        ...(o.limitPrice !== undefined ? { limitPrice: o.limitPrice } : {}),
      })),
    };
  }

  position(strategyId: string, symbol: string): number {
    return positionOf(this.projection, strategyId, symbol);
  }

  /** Reads the whole log into the projection and tells each adapter the intent ids it may meet. */
  private async replay(): Promise<void> {
    let n = 0;
    for await (const e of readEvents(this.nc!, { onInvalid: (seq, error) => this.log.error({ seq, error }, 'unreadable event skipped in replay') })) {
      applyEvent(this.projection, e.event, e.seq);
      n++;
    }
    const ids = new Set([...this.projection.book.all().map((r) => r.intentId), ...this.projection.intents.keys()]);
    for (const a of this.venues.values()) for (const id of ids) a.rememberIntent?.(id);
    this.log.info({ events: n, orders: this.projection.book.all().length, lastSeq: this.projection.lastSeq }, 'event log replayed');
  }

  /** Applies an event to the projection and appends it to the log (queued, in order). */
  private emit(ev: LogEvent, msgId?: string): void {
    applyEvent(this.projection, ev);
    this.events?.record(ev, msgId);
  }

  /** Write-ahead: resolves once the log has stored the event (and everything queued before it). */
  private async emitDurable(ev: LogEvent, timeoutMs = 10_000): Promise<void> {
    applyEvent(this.projection, ev);
    if (!this.events) return;
    // Past the timeout the write is not sent at all: a late order after a NATS outage would surprise its strategy.
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const late = new Promise<never>((_, reject) => { timer = this.opts.clock.setTimeout(() => reject(new Error(`not stored within ${timeoutMs} ms`)), timeoutMs); });
    try {
      await Promise.race([this.events.append(ev, undefined, { sendNow: true }), late]);
    } finally {
      this.opts.clock.clearTimeout(timer);
    }
  }

  /** Runs reconciliation for every venue now; the same path as start, reconnect and periodic runs. */
  reconcileNow(trigger: ReconcileReport['trigger'], acceptExternal = false): Promise<ReconcileReport[]> {
    return this.reconciler.runAll(trigger, acceptExternal);
  }

  /** Called when the lease is lost: no venue is touched again by this process. */
  fence(reason: string): void {
    this.fenced = reason;
    void this.reconciler?.stop();
    this.log.error({ reason }, 'broker fenced: lease lost');
  }

  private reconcileHost() {
    return {
      projection: () => this.projection,
      inflight: () => new Set([...this.inflight.keys()].filter((id) => { const r = this.projection.book.get(id); return r !== undefined && !r.venueOrderId; })),
      apply: (venue: Venue, emits: Emit[]) => this.applyVenueEvents(venue, emits),
      raiseKill: async (venue: Venue, differences: Difference[]) => {
        await this.opts.onReconcileMismatch?.(venue, differences).catch((err: unknown) => this.log.error({ err }, 'kill raise after reconciliation failed'));
      },
      holdOrders: (venue: Venue) => {
        this.heldOrders.set(venue, []);
        return () => {
          const held = this.heldOrders.get(venue) ?? [];
          this.heldOrders.delete(venue);
          for (const o of held) this.onVenueOrder(venue, o);
        };
      },
      report: (r: ReconcileReport) => {
        this.emit({ kind: 'reconcile', ts: r.ts, report: r });
        this.publishEvent({ type: 'Reconciled', venue: r.venue, ok: r.result === 'ok' || r.result === 'resolved', result: r.result, differences: r.differences.length, ts: r.ts }, false);
      },
    };
  }

  lastPrice(venue: Venue, symbol: string): number | undefined {
    return this.lastTicks.get(`${venue}|${symbol}`)?.last;
  }

  private wireVenue(a: VenueAdapter): void {
    a.on('tick', (t) => this.onTick(a.venue, t));
    a.on('order', (o) => this.onVenueOrder(a.venue, o));
    a.on('disconnected', (reason) => {
      metrics.wsConnected.set({ venue: a.venue }, 0);
      this.log.warn({ venue: a.venue, reason }, 'venue disconnected');
      this.publishEvent({ type: 'BrokerDisconnected', venue: a.venue, reason: clip(reason), ts: this.opts.clock.now() });
    });
    a.on('reconnected', () => {
      metrics.wsConnected.set({ venue: a.venue }, 1);
      metrics.wsReconnectsTotal.inc({ venue: a.venue });
      this.publishEvent({ type: 'BrokerReconnected', venue: a.venue, ts: this.opts.clock.now() });
    });
    a.on('reconcile', () => void this.reconciler.run(a, 'reconnect'));
  }

  private onTick(venue: Venue, t: VenueTick): void {
    if (!this.nc) return;
    const key = `${venue}|${t.symbol}`;
    const seq = (this.seq.get(key) ?? 0) + 1;
    this.seq.set(key, seq);
    const now = this.opts.clock.now();
    const tick: Tick = { type: 'tick', venue, seq, recvTs: now, ...t };
    this.lastTicks.set(key, tick);
    metrics.ticksTotal.inc({ venue });
    this.tickAge?.tick(venue);
    metrics.tickLagSeconds.observe({ venue }, Math.max(0, now - t.ts) / 1000);
    this.announce(subjects.marketData(venue, t.symbol), TickSchema, tick);
  }

  private replyInvalid(msg: Msg, error: string): void {
    if (!msg.reply) return;
    msg.respond(encodeJson(IntentReplySchema, { status: 'denied', intentId: '', rule: 'invalid_payload', reason: clip(error) }));
  }

  /**
   * A strategy id fit for a metric label or a log key: a registered one, else `unknown`. An id
   * comes from a message, and 20,000 made-up ones once made 20,000 series.
   */
  private labelOf(strategyId: string | undefined): string {
    return strategyId !== undefined && this.strategies.has(strategyId) ? strategyId : 'unknown';
  }

  private async onIntent(intent: Intent, msg: Msg): Promise<void> {
    // The sender is the one the subject names: the generated NATS permissions let each
    // strategy's user publish on its own intent subject only (supervisor/nats-auth.ts). The
    // body's id is a claim that must agree.
    const sender = subjects.intentSender(msg.subject);
    const reply = sender === undefined || subjects.intent(intent.strategyId) !== msg.subject
      ? this.deny(intent, 'strategy_mismatch', `intent for ${intent.strategyId} arrived on ${msg.subject}`, undefined, this.labelOf(sender))
      : await this.decide(intent);
    if (msg.reply) msg.respond(encodeJson(IntentReplySchema, reply));
  }

  /** One decision per intent id: a resent intent gets the first answer, never a second order. */
  private decide(intent: Intent): Promise<IntentReply> {
    const known = this.inflight.get(intent.intentId);
    if (known) return known.then((r) => (r.status === 'accepted' ? { ...r, duplicate: true } : r));
    // Decided before a restart: the log remembers, so the answer is the same.
    const logged = this.projection.decisions.get(intent.intentId);
    if (logged) {
      const venueOrderId = this.book.get(intent.intentId)?.venueOrderId ?? (logged.status === 'accepted' ? logged.venueOrderId : undefined);
      return Promise.resolve(logged.status === 'accepted'
        ? { status: 'accepted', intentId: intent.intentId, duplicate: true, ...(venueOrderId ? { venueOrderId } : {}) }
        : { status: 'denied', intentId: intent.intentId, rule: logged.rule, reason: logged.reason, ...(logged.figures ? { figures: logged.figures } : {}) });
    }
    const p = this.handle(intent);
    this.inflight.set(intent.intentId, p);
    // Kept on failure (a bug, not a venue answer): a resend must not find the intent undecided and place again.
    p.then(() => this.inflight.delete(intent.intentId), () => undefined);
    return p;
  }

  private async handle(intent: Intent): Promise<IntentReply> {
    this.emit({ kind: 'intent', strategyId: intent.strategyId, intentId: intent.intentId, ts: this.opts.clock.now(), intent });
    switch (intent.action) {
      case 'place':
        return this.place(intent);
      case 'cancel':
        return this.cancel(intent);
      case 'modify':
        return this.modify(intent);
      default: {
        const never: never = intent;
        return never;
      }
    }
  }

  private deny(intent: Intent, rule: string, reason: string, figures?: Record<string, number | string>, label = this.labelOf(intent.strategyId)): IntentReply {
    // A venue's message or an input's echo can be any length: the reply and the event are bounded.
    rule = clip(rule, MAX_NAME);
    reason = clip(reason);
    metrics.intentsDeniedTotal.inc({ strategy: label, rule });
    this.emit({ kind: 'decision', strategyId: intent.strategyId, intentId: intent.intentId, ts: this.opts.clock.now(), decision: 'denied', rule, reason, ...(figures ? { figures } : {}) });
    this.logRefusal(label, { strategy: intent.strategyId, intentId: intent.intentId, rule, reason });
    return { status: 'denied', intentId: intent.intentId, rule, reason, ...(figures ? { figures } : {}) };
  }

  /** A strategy in a refusal loop (halted, over a limit) would write a line per intent: the log is thinned, the counter is not. */
  private logRefusal(label: string, fields: Record<string, string>): void {
    const v = this.refusalLog.take(label, this.opts.clock.now());
    if (!v.log) return;
    if (v.suppressedBefore > 0) this.log.info({ strategy: label, suppressed: v.suppressedBefore, windowMs: v.windowMs }, 'intent refusals not logged (rate limit of the log)');
    this.log.info(fields, 'intent denied');
  }

  /** Every pre-trade gate, in order, against the strategy's view now; the first refusal, if any. */
  private runGates(intent: PlaceIntent | ModifyIntent, spec: StrategySpec, target?: GateTarget): IntentReply | undefined {
    const view: GateView = {
      spec,
      position: (symbol) => this.position(spec.id, symbol),
      openOrders: this.book.open(spec.id),
      lastPrice: (v, s) => this.lastPrice(v, s),
      now: this.opts.clock.now(),
      ...(target ? { target } : {}),
    };
    for (const gate of this.gates) {
      const d = gate(intent, view);
      if (!d.ok) return this.deny(intent, d.rule, d.reason, d.figures);
    }
    return undefined;
  }

  private async place(intent: PlaceIntent): Promise<IntentReply> {
    const spec = this.strategies.get(intent.strategyId);
    if (!spec) return this.deny(intent, 'unknown_strategy', `strategy ${intent.strategyId} is not registered`);
    const venue = this.venues.get(intent.venue);
    if (!venue) return this.deny(intent, 'unknown_venue', `venue ${intent.venue} is not configured`);
    if (spec.venue !== intent.venue) return this.deny(intent, 'wrong_venue', `strategy ${spec.id} trades on ${spec.venue}`);
    if (this.fenced) return this.deny(intent, 'not_leader', `this broker lost its lease (${this.fenced}); another broker trades`);
    if (!venue.connected()) return this.deny(intent, 'broker_disconnected', `${intent.venue} is disconnected; submissions resume after reconnect and reconciliation`);
    if (!this.reconciler.hasPassed(intent.venue)) return this.deny(intent, 'not_reconciled', `${intent.venue} has not been reconciled since start; no new orders until it is`);
    if (intent.orderType === 'LIMIT' && intent.limitPrice === undefined) return this.deny(intent, 'invalid_order', 'LIMIT order needs limitPrice');
    const refused = venue.checkOrder?.(orderRequest(intent));
    if (refused) return this.deny(intent, refused.rule, refused.reason, refused.figures);
    const gated = this.runGates(intent, spec);
    if (gated) return gated;
    const slow = this.denyLongWait(intent, venue, 'place');
    if (slow) return slow;
    const n = this.placing.get(venue.venue) ?? 0;
    this.placing.set(venue.venue, n + 1);
    return this.track(this.submit(intent, venue, 'place', spec.marketProtection)).finally(() => this.placing.set(venue.venue, (this.placing.get(venue.venue) ?? 1) - 1));
  }

  /**
   * The broker's own order at kill priority, past every gate: level 4 closes positions with
   * these. Booked under the strategy whose position it closes, so fills and updates reach it.
   */
  async placeForKill(intent: PlaceIntent, marketProtection?: number): Promise<IntentReply> {
    const venue = this.venues.get(intent.venue);
    if (!venue) return this.deny(intent, 'unknown_venue', `venue ${intent.venue} is not configured`);
    if (this.fenced) return this.deny(intent, 'not_leader', `this broker lost its lease (${this.fenced})`);
    this.emit({ kind: 'intent', strategyId: intent.strategyId, intentId: intent.intentId, ts: this.opts.clock.now(), intent });
    return this.track(this.submit(intent, venue, 'kill', marketProtection));
  }

  /**
   * Cancels one order at kill priority (a flatten re-pricing what its closing order left).
   * False when the venue refused: most often the order ended meanwhile, which its update shows.
   */
  async cancelForKill(intentId: string): Promise<boolean> {
    const o = this.book.get(intentId);
    const venue = o && this.venues.get(o.venue);
    if (!o?.venueOrderId || !venue || isTerminal(o.state)) return false;
    try {
      await venue.cancel(o.venueOrderId, 'kill');
      return true;
    } catch (err) {
      this.log.warn({ err, intentId }, 'kill cancel refused');
      return false;
    }
  }

  /** A kill-switch cancel waits for every accepted place still on its way to the venue, so none slips past it. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.writing.add(p);
    return p.finally(() => this.writing.delete(p));
  }

  /**
   * A place or a modify that would queue for the venue's rate limit longer than `maxPlaceWaitMs`
   * is denied `rate_limited` before any write: the strategy would have stopped waiting for it.
   */
  private denyLongWait(intent: PlaceIntent | ModifyIntent, venue: VenueAdapter, op: 'place' | 'modify'): IntentReply | undefined {
    const wait = this.writeWaitMs(venue, op);
    const maxWait = this.opts.maxPlaceWaitMs ?? 5_000;
    if (wait <= maxWait) return undefined;
    const howLong = Number.isFinite(wait) ? `${Math.ceil(wait / 1000)} s` : 'behind more than the limiter looks ahead';
    const what = op === 'place' ? 'order rate limit: this order' : 'modify rate limit: this modify';
    return this.deny(intent, 'rate_limited', `${venue.venue} ${what} would wait ${howLong} (more than ${maxWait / 1000} s); try later`, { limit: maxWait, actual: Number.isFinite(wait) ? Math.ceil(wait) : 'never' });
  }

  /**
   * How long a place (or a modify) on this venue would queue for the rate limit, those of its
   * kind already on their way going first. A modify spends its own category (Kite's modify
   * family, Kalshi's write bucket) at modify priority.
   */
  private writeWaitMs(venue: VenueAdapter, op: 'place' | 'modify'): number {
    const { limiter } = this.opts;
    const category = op === 'place' ? venue.placeCategory : venue.modifyCategory;
    if (!limiter?.estimateWaitMs || !category) return 0;
    const cost = op === 'place' ? venue.placeCost : venue.modifyCost;
    const ahead = op === 'place' ? this.placing.get(venue.venue) ?? 0 : [...this.modifying.values()].filter((v) => v === venue.venue).length;
    return limiter.estimateWaitMs(category, op, { ahead, ...(cost ? { cost } : {}) });
  }

  private async submit(intent: PlaceIntent, venue: VenueAdapter, priority: 'place' | 'kill', marketProtection?: number): Promise<IntentReply> {
    const spec = { id: intent.strategyId };
    this.emit({ kind: 'decision', strategyId: spec.id, intentId: intent.intentId, ts: this.opts.clock.now(), decision: 'accepted' });
    const rec = this.book.get(intent.intentId)!;
    const req = orderRequest(intent, marketProtection);
    // Write-ahead: the log holds the write before the venue can, so a crash leaves a trace to
    // adopt. The adapter prepares the order meanwhile and sends it only once this resolves.
    const stored = this.emitDurable({ kind: 'venue_write', strategyId: spec.id, intentId: intent.intentId, ts: this.opts.clock.now(), venue: intent.venue, op: 'place', request: req })
      .catch((e: unknown) => { throw new WriteAheadFailed(e); });
    stored.then(() => metrics.ordersSubmittedTotal.inc({ strategy: spec.id, venue: intent.venue }), () => undefined);
    try {
      // One microtask, so the write-ahead's bytes leave before the adapter's preparation runs.
      await Promise.resolve();
      const { venueOrderId } = await venue.place(req, priority, stored);
      this.emit({ kind: 'venue_answer', strategyId: spec.id, intentId: intent.intentId, ts: this.opts.clock.now(), venue: intent.venue, op: 'place', venueOrderId });
      this.publishOrder(rec);
      return { status: 'accepted', intentId: intent.intentId, venueOrderId };
    } catch (e) {
      if (e instanceof WriteAheadFailed) {
        this.emit({ kind: 'venue_answer', strategyId: spec.id, intentId: intent.intentId, ts: this.opts.clock.now(), venue: intent.venue, op: 'place', error: { name: 'VenueError', venue: intent.venue, kind: 'GeneralException', message: 'not sent: the event log did not store the write' } });
        this.publishOrder(rec);
        return this.deny(intent, 'event_log_unavailable', `the event log did not store the write: ${e.message}`);
      }
      const err = e instanceof VenueError ? e : new VenueError({ venue: intent.venue, kind: 'GeneralException', message: (e as Error).message, cause: e });
      this.emit({ kind: 'venue_answer', strategyId: spec.id, intentId: intent.intentId, ts: this.opts.clock.now(), venue: intent.venue, op: 'place', error: err.toWire() });
      metrics.ordersTotal.inc({ strategy: spec.id, venue: intent.venue, outcome: 'rejected' });
      this.publishOrder(rec);
      if (err.kind === 'MarginException') this.opts.onMarginException?.(spec.id, err);
      return this.deny(intent, `venue_${err.kind}`, err.message, err.status !== undefined ? { status: err.status } : undefined);
    }
  }

  private async cancel(intent: CancelIntent): Promise<IntentReply> {
    // A cancel right behind its place: wait for the place's answer rather than deny `order_pending`.
    const placing = this.inflight.get(intent.targetIntentId);
    if (placing && !this.book.get(intent.targetIntentId)?.venueOrderId) await placing.catch(() => undefined);
    const target = this.book.get(intent.targetIntentId);
    if (!target || target.strategyId !== intent.strategyId) return this.deny(intent, 'unknown_order', `no order ${intent.targetIntentId} for ${intent.strategyId}`);
    if (isTerminal(target.state)) return this.deny(intent, 'order_closed', `order ${intent.targetIntentId} is already ${target.state}`);
    if (!target.venueOrderId) return this.deny(intent, 'order_pending', `order ${intent.targetIntentId} has no venue id yet`);
    const venue = this.venues.get(target.venue)!;
    const at = { strategyId: intent.strategyId, intentId: intent.intentId, venue: target.venue, op: 'cancel' as const, venueOrderId: target.venueOrderId };
    this.emit({ kind: 'venue_write', ts: this.opts.clock.now(), ...at });
    try {
      await venue.cancel(target.venueOrderId, 'cancel');
      this.emit({ kind: 'venue_answer', ts: this.opts.clock.now(), ...at });
      this.emit({ kind: 'decision', strategyId: intent.strategyId, intentId: intent.intentId, ts: this.opts.clock.now(), decision: 'accepted' });
      return { status: 'accepted', intentId: intent.intentId, venueOrderId: target.venueOrderId };
    } catch (e) {
      const err = e instanceof VenueError ? e : new VenueError({ venue: target.venue, kind: 'GeneralException', message: (e as Error).message });
      this.emit({ kind: 'venue_answer', ts: this.opts.clock.now(), ...at, error: err.toWire() });
      return this.deny(intent, `venue_${err.kind}`, err.message);
    }
  }

  /**
   * Changes a resting order's price or quantity in place. Judged like the order it becomes (kill
   * level, the venue's lot and tick rules, the strategy's limits at the new size and price) but
   * not a new order: it counts neither against maxOpenOrders nor in the orders-per-minute window.
   */
  private async modify(intent: ModifyIntent): Promise<IntentReply> {
    // A modify right behind its place: wait for the place's answer, as a cancel does.
    const placing = this.inflight.get(intent.targetIntentId);
    if (placing && !this.book.get(intent.targetIntentId)?.venueOrderId) await placing.catch(() => undefined);
    const spec = this.strategies.get(intent.strategyId);
    if (!spec) return this.deny(intent, 'unknown_strategy', `strategy ${intent.strategyId} is not registered`);
    const target = this.book.get(intent.targetIntentId);
    if (!target || target.strategyId !== intent.strategyId) return this.deny(intent, 'unknown_order', `no order ${intent.targetIntentId} for ${intent.strategyId}`);
    if (isTerminal(target.state)) return this.deny(intent, 'order_closed', `order ${intent.targetIntentId} is already ${target.state}`);
    if (!target.venueOrderId) return this.deny(intent, 'order_pending', `order ${intent.targetIntentId} has no venue id yet`);
    const venue = this.venues.get(target.venue);
    if (!venue?.modify) return this.deny(intent, 'unsupported', `${target.venue} orders cannot be modified here; cancel and place instead`);
    if (this.fenced) return this.deny(intent, 'not_leader', `this broker lost its lease (${this.fenced}); another broker trades`);
    if (!venue.connected()) return this.deny(intent, 'broker_disconnected', `${target.venue} is disconnected; submissions resume after reconnect and reconciliation`);
    if (!this.reconciler.hasPassed(target.venue)) return this.deny(intent, 'not_reconciled', `${target.venue} has not been reconciled since start; no changes until it is`);
    const orderType = target.orderType ?? (target.limitPrice !== undefined ? 'LIMIT' : 'MARKET');
    if (intent.qty === undefined && intent.limitPrice === undefined) return this.deny(intent, 'invalid_order', 'a modify needs a new qty or a new limitPrice');
    if (orderType === 'MARKET' && intent.limitPrice !== undefined) return this.deny(intent, 'invalid_order', 'a MARKET order has no limit price to change');
    const qty = intent.qty ?? target.qty;
    const limitPrice = intent.limitPrice ?? target.limitPrice;
    if (qty <= target.filledQty) return this.deny(intent, 'invalid_order', `new quantity ${qty} must exceed the ${target.filledQty} already filled`, { limit: target.filledQty, actual: qty });
    if (qty === target.qty && limitPrice === target.limitPrice) return this.deny(intent, 'no_change', `order ${intent.targetIntentId} already has quantity ${qty}${limitPrice !== undefined ? ` and price ${limitPrice}` : ''}`);
    if (this.modifying.has(target.intentId)) return this.deny(intent, 'modify_pending', `order ${intent.targetIntentId} has a modify on its way; send the next one after its answer`);
    const cap = venue.maxModificationsPerOrder;
    if (cap !== undefined && (target.modifies ?? 0) >= cap) return this.deny(intent, 'max_modifications', `order ${intent.targetIntentId} has been modified ${target.modifies} times, the most ${target.venue} takes per order; cancel it and place a new one`, { limit: cap, actual: target.modifies ?? 0 });
    const req: VenueModifyRequest = {
      venueOrderId: target.venueOrderId, symbol: target.symbol, side: target.side, orderType, qty,
      ...(orderType === 'LIMIT' && limitPrice !== undefined ? { limitPrice } : {}),
      // Kite refuses a MARKET order without market protection, on a modify too (docs/venues/kite.md).
      ...(orderType === 'MARKET' && spec.marketProtection !== undefined ? { marketProtection: spec.marketProtection } : {}),
    };
    const refused = venue.checkOrder?.({ intentId: target.intentId, symbol: req.symbol, side: req.side, qty: req.qty, orderType, ...(req.limitPrice !== undefined ? { limitPrice: req.limitPrice } : {}) });
    if (refused) return this.deny(intent, refused.rule, refused.reason, refused.figures);
    const gateTarget: GateTarget = {
      symbol: target.symbol, venue: target.venue, side: target.side, qty: target.qty, filledQty: target.filledQty, orderType,
      ...(target.limitPrice !== undefined ? { limitPrice: target.limitPrice } : {}),
    };
    const gated = this.runGates(intent, spec, gateTarget);
    if (gated) return gated;
    const slow = this.denyLongWait(intent, venue, 'modify');
    if (slow) return slow;
    this.modifying.set(target.intentId, target.venue);
    try {
      return await this.track(this.writeModify(intent, venue, req, target.intentId));
    } finally {
      this.modifying.delete(target.intentId);
    }
  }

  private async writeModify(intent: ModifyIntent, venue: VenueAdapter, req: VenueModifyRequest, targetIntentId: string): Promise<IntentReply> {
    const change = { targetIntentId, qty: req.qty, ...(req.limitPrice !== undefined ? { limitPrice: req.limitPrice } : {}) };
    const at = { strategyId: intent.strategyId, intentId: intent.intentId, venue: venue.venue, op: 'modify' as const, venueOrderId: req.venueOrderId };
    try {
      // Write-ahead, as for a place: the log holds the change before the venue can.
      await this.emitDurable({ kind: 'venue_write', ts: this.opts.clock.now(), ...at, change });
    } catch (e) {
      return this.deny(intent, 'event_log_unavailable', `the event log did not store the write: ${(e as Error).message}`);
    }
    try {
      await venue.modify!(req);
    } catch (e) {
      const err = e instanceof VenueError ? e : new VenueError({ venue: venue.venue, kind: 'GeneralException', message: (e as Error).message });
      this.emit({ kind: 'venue_answer', ts: this.opts.clock.now(), ...at, error: err.toWire() });
      return this.deny(intent, `venue_${err.kind}`, err.message, err.status !== undefined ? { status: err.status } : undefined);
    }
    this.emit({ kind: 'venue_answer', ts: this.opts.clock.now(), ...at, change });
    this.emit({ kind: 'decision', strategyId: intent.strategyId, intentId: intent.intentId, ts: this.opts.clock.now(), decision: 'accepted' });
    const rec = this.book.get(targetIntentId);
    if (rec) this.publishOrder(rec);
    return { status: 'accepted', intentId: intent.intentId, venueOrderId: req.venueOrderId };
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
    const held = this.heldOrders.get(venue);
    if (held) return void held.push(o);
    const emits = orderUpdateEvents(this.projection, venue, o, this.opts.clock.now());
    if (emits.length === 0) {
      if (o.intentId && !this.book.get(o.intentId)) this.log.warn({ venue, venueOrderId: o.venueOrderId, intentId: o.intentId }, 'update for an order with our tag but no record; reconciliation adopts it');
      return;
    }
    this.applyVenueEvents(venue, emits);
  }

  /** Applies fills and state changes (live or from reconciliation), logs them, tells the strategy. */
  private applyVenueEvents(venue: Venue, emits: Emit[]): void {
    let fill: import('../actors/messages.ts').Fill | undefined;
    for (const { event, msgId } of emits) {
      const wasTerminal = event.kind === 'order_state' ? isTerminal(this.book.get(event.intentId)?.state ?? 'pending') : true;
      this.emit(event, msgId);
      if (event.kind === 'fill') fill = event.fill;
      if (event.kind !== 'order_state') continue;
      const rec = this.book.get(event.intentId);
      if (!rec) continue;
      if (!wasTerminal && isTerminal(rec.state)) metrics.ordersTotal.inc({ strategy: rec.strategyId, venue, outcome: rec.state });
      this.publishOrder(rec, fill);
      fill = undefined;
    }
  }

  private publishOrder(rec: OrderRecord, fill?: import('../actors/messages.ts').Fill): void {
    if (!this.nc || !rec.venueOrderId && rec.state !== 'rejected') return;
    this.announce(subjects.orderUpdate(rec.strategyId, rec.intentId), OrderUpdateSchema, {
      type: 'order', strategyId: rec.strategyId, intentId: rec.intentId, venue: rec.venue, venueOrderId: rec.venueOrderId ?? 'none',
      symbol: rec.symbol, side: rec.side, state: rec.state, venueStatus: clip(rec.venueStatus, MAX_NAME), qty: rec.qty, filledQty: rec.filledQty,
      ts: this.opts.clock.now(),
      ...(rec.avgPrice !== undefined ? { avgPrice: rec.avgPrice } : {}),
      ...(fill ? { fill } : {}),
      ...(rec.message ? { message: clip(rec.message) } : {}),
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

  publishEvent(e: BrokerEvent, log = true): void {
    this.announce(subjects.brokerEvents(), BrokerEventSchema, e);
    if (log) this.emit({ kind: 'broker', ts: e.ts, event: e });
  }

  /**
   * Every broker publish goes through here. A broker going down (or killed) cannot announce:
   * a venue push or a run finishing after the connection closed must not throw out of a socket
   * handler or timer. What matters is in the event log, which the next broker replays.
   */
  private announce<S extends z.ZodType>(subject: string, schema: S, payload: z.input<S>): void {
    if (!this.nc) return;
    if (this.nc.isClosed() || this.nc.isDraining()) {
      this.log.debug({ subject }, 'bus closed: not announced');
      return;
    }
    publishJson(this.nc, subject, schema, payload);
  }
}
