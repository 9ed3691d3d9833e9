/**
 * The broker of a backtest: the live broker's pre-trade rules (broker/decide.ts: the broker's own,
 * the venue's lots and ticks, the kill level, the strategy's risk limits with its orders-per-minute
 * window on the data's clock, in that order) in front of the built-in exchanges' matching, in-process. No NATS, no event log, no
 * limiter: nothing a backtest needs to be fast and exact waits on I/O. Every decision and fill is
 * recorded in order for the run's hash.
 */
import { IntentSchema, describeZodError, type Intent, type IntentReply, type ModifyIntent, type OrderUpdate, type PlaceIntent } from '../actors/messages.ts';
import type { KillLevel, KillScope, Venue } from '../actors/messages.ts';
import type { Clock } from '../actors/clock.ts';
import { decide, type DecisionView } from '../broker/decide.ts';
import { ACTIVE_ENTRY, type Figures, type KillLevels } from '../broker/kill/levels.ts';
import { isTerminal, type OrderRecord } from '../broker/order-book.ts';
import { WINDOW_MS } from '../broker/risk/gate.ts';
import type { StrategySpec } from '../config/registry.ts';
import { SimVenueRefusal, type SimOrderEvent, type SimVenue } from './venue.ts';

/** One line of the run's record: what the hash is taken over. */
export type RecordLine =
  | { kind: 'decision'; ts: number; strategyId: string; intent: Intent; reply: IntentReply }
  | { kind: 'fill'; ts: number; strategyId: string; intentId: string; symbol: string; side: 'BUY' | 'SELL'; qty: number; price: number }
  | { kind: 'kill'; ts: number; level: KillLevel; scope: KillScope; reason: string; by: string };

export type FillSink = (strategyId: string, fill: { venue: Venue; symbol: string; side: 'BUY' | 'SELL'; qty: number; price: number; isTaker: boolean; intentId: string; ts: number }) => void;


export class BacktestBroker {
  /** When each strategy's places were accepted, for the orders-per-minute rule. */
  private readonly placed = new Map<string, number[]>();
  private readonly orders = new Map<string, OrderRecord>();
  private readonly open = new Map<string, Map<string, OrderRecord>>();
  private readonly positions = new Map<string, Map<string, number>>();
  /** Per venue, per symbol: set on every tick, so no key is built for it. */
  private readonly lastPrices = new Map<Venue, Map<string, number>>();
  private readonly sinks = new Map<string, (u: OrderUpdate) => void>();
  private fillSeq = 0;
  /**
   * The latched kill levels, judged by the live rule (broker/kill/levels.ts): ACTIVE until the
   * backtest's kill triggers raise one (runner.ts), as the kill switch's store does live.
   */
  private kill: { levels: KillLevels; mustRestart: boolean } = { levels: { global: ACTIVE_ENTRY, strategies: {} }, mustRestart: false };
  private killRevision = 0;
  readonly record: RecordLine[] = [];
  /** Every intent that reaches the broker, and each order's first state past pending (the live trigger feed's sources). */
  onIntent: ((strategyId: string) => void) | undefined;
  onUpdate: ((u: OrderUpdate) => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly specs: ReadonlyMap<string, StrategySpec>,
    private readonly venues: ReadonlyMap<Venue, SimVenue>,
    private readonly onFill: FillSink,
  ) {
    for (const v of venues.values()) v.onEvent((e) => this.onVenueEvent(v.venue, e));
  }

  /** Where a strategy's order updates go (its context). */
  subscribe(strategyId: string, sink: (u: OrderUpdate) => void): void {
    this.sinks.set(strategyId, sink);
  }

  /** The last price the data gave, for the price-band rule. */
  setLastPrice(venue: Venue, symbol: string, price: number): void {
    let m = this.lastPrices.get(venue);
    if (!m) this.lastPrices.set(venue, (m = new Map()));
    m.set(symbol, price);
  }

  /** Latches `level` for `scope`; never lowers (a raise, as the live store's). Returns the new revision, or undefined when it changed nothing. */
  raise(level: KillLevel, scope: KillScope, reason: string, by: string, figures?: Figures): number | undefined {
    const cur = scope.kind === 'global' ? this.kill.levels.global : this.kill.levels.strategies[scope.strategyId] ?? ACTIVE_ENTRY;
    if (level <= cur.level) return undefined;
    const entry = { level, reason, by, ts: this.clock.now(), revision: ++this.killRevision, ...(figures ? { figures } : {}) };
    const levels: KillLevels = scope.kind === 'global'
      ? { ...this.kill.levels, global: entry }
      : { ...this.kill.levels, strategies: { ...this.kill.levels.strategies, [scope.strategyId]: entry } };
    this.kill = { levels, mustRestart: false };
    this.record.push({ kind: 'kill', ts: entry.ts, level, scope, reason, by });
    return entry.revision;
  }

  handle(raw: Intent): IntentReply {
    // Parsed as the live broker parses what arrives on orch.intent.<id>: a strategy's bug (a
    // missing quantity, a NaN price) is the same denial here as there.
    this.onIntent?.(raw.strategyId);
    const parsed = IntentSchema.safeParse(raw);
    const intent = parsed.success ? parsed.data : raw;
    const reply = parsed.success ? this.decide(intent) : deny(raw, 'invalid_payload', describeZodError(parsed.error));
    // The venue's order id is left out: the engines number orders by process and wall clock
    // (Kite) or at random (Kalshi, UUIDs), which says nothing about the strategy's trading.
    const { venueOrderId: _id, ...decision } = reply as IntentReply & { venueOrderId?: string };
    this.record.push({ kind: 'decision', ts: this.clock.now(), strategyId: intent.strategyId, intent, reply: decision as IntentReply });
    return reply;
  }

  private decide(intent: Intent): IntentReply {
    const d = decide(intent, this.view(intent));
    if (!d.ok) return deny(intent, d.rule, d.reason, d.figures);
    switch (intent.action) {
      case 'place': return this.place(intent, this.specs.get(intent.strategyId)!);
      case 'cancel': return this.cancel(intent, this.orders.get(intent.targetIntentId)!);
      case 'modify': return this.modify(intent, this.orders.get(intent.targetIntentId)!);
    }
  }

  /** What the rules read, as broker/intents.ts builds it live: here the venue is always up and reconciled. */
  private view(intent: Intent): DecisionView {
    const target = intent.action === 'place' ? undefined : this.orders.get(intent.targetIntentId);
    const venue = this.venues.get(intent.action === 'place' ? intent.venue : target?.venue ?? ('' as Venue));
    return {
      now: this.clock.now(),
      strategy: this.specs.get(intent.strategyId),
      venue: venue && {
        venue: venue.venue, connected: true, reconciled: true, canModify: true,
        ...(venue.maxModificationsPerOrder !== undefined ? { maxModificationsPerOrder: venue.maxModificationsPerOrder } : {}),
        ...(venue.checkOrder ? { checkOrder: (r) => venue.checkOrder!(r) } : {}),
      },
      target,
      fenced: undefined,
      kill: this.kill,
      position: (symbol) => this.positions.get(intent.strategyId)?.get(symbol) ?? 0,
      openOrders: [...this.openOf(intent.strategyId).values()],
      lastPrice: (v, s) => this.lastPrices.get(v)?.get(s),
      recentPlaces: this.recentPlaces(intent.strategyId),
      modifyPending: false,
      rateWaitMs: () => 0,
      maxRateWaitMs: 5_000,
    };
  }

  private recentPlaces(strategyId: string): number[] {
    const now = this.clock.now();
    const kept = (this.placed.get(strategyId) ?? []).filter((t) => now - t < WINDOW_MS);
    this.placed.set(strategyId, kept);
    return kept;
  }

  private place(intent: PlaceIntent, spec: StrategySpec): IntentReply {
    const venue = this.venues.get(intent.venue)!;
    this.placed.get(intent.strategyId)!.push(this.clock.now());
    const now = this.clock.now();
    const rec: OrderRecord = {
      intentId: intent.intentId, strategyId: intent.strategyId, venue: intent.venue, symbol: intent.symbol, side: intent.side, qty: intent.qty,
      orderType: intent.orderType, state: 'pending', venueStatus: 'NEW', filledQty: 0, createdTs: now, updatedTs: now,
      ...(intent.limitPrice !== undefined ? { limitPrice: intent.limitPrice } : {}),
    };
    this.orders.set(rec.intentId, rec);
    this.openOf(spec.id).set(rec.intentId, rec);
    try {
      const venueOrderId = venue.place({
        intentId: intent.intentId, symbol: intent.symbol, side: intent.side, qty: intent.qty, orderType: intent.orderType,
        ...(intent.limitPrice !== undefined ? { limitPrice: intent.limitPrice } : {}),
        ...(intent.orderType === 'MARKET' ? { marketProtection: spec.marketProtection } : {}),
      });
      rec.venueOrderId = venueOrderId;
      return { status: 'accepted', intentId: intent.intentId, venueOrderId };
    } catch (e) {
      this.orders.delete(rec.intentId);
      this.openOf(spec.id).delete(rec.intentId);
      return refused(intent, e);
    }
  }

  private cancel(intent: Extract<Intent, { action: 'cancel' }>, target: OrderRecord): IntentReply {
    try {
      this.venues.get(target.venue)!.cancel(target.venueOrderId!);
      return { status: 'accepted', intentId: intent.intentId, venueOrderId: target.venueOrderId! };
    } catch (e) {
      return refused(intent, e);
    }
  }

  private modify(intent: ModifyIntent, target: OrderRecord): IntentReply {
    const qty = intent.qty ?? target.qty;
    const limitPrice = intent.limitPrice ?? target.limitPrice;
    try {
      target.modifies = (target.modifies ?? 0) + 1;
      this.venues.get(target.venue)!.modify(target.venueOrderId!, { qty, ...(limitPrice !== undefined ? { limitPrice } : {}) });
      target.qty = qty;
      if (limitPrice !== undefined) target.limitPrice = limitPrice;
      return { status: 'accepted', intentId: intent.intentId, venueOrderId: target.venueOrderId! };
    } catch (e) {
      return refused(intent, e);
    }
  }

  private onVenueEvent(venue: Venue, e: SimOrderEvent): void {
    const rec = this.orders.get(e.intentId);
    if (!rec) return;
    const now = this.clock.now();
    rec.venueOrderId = e.venueOrderId;
    rec.state = e.state;
    rec.venueStatus = e.venueStatus;
    rec.qty = e.qty;
    rec.filledQty = e.filledQty;
    rec.updatedTs = now;
    if (e.message !== undefined) rec.message = e.message;
    if (isTerminal(e.state)) this.openOf(rec.strategyId).delete(rec.intentId);
    let fill: OrderUpdate['fill'];
    if (e.fill) {
      const signed = rec.side === 'BUY' ? e.fill.qty : -e.fill.qty;
      const pos = this.positions.get(rec.strategyId) ?? new Map<string, number>();
      this.positions.set(rec.strategyId, pos);
      pos.set(rec.symbol, (pos.get(rec.symbol) ?? 0) + signed);
      fill = { fillId: `f${++this.fillSeq}`, qty: e.fill.qty, price: e.fill.price, ts: now };
      this.record.push({ kind: 'fill', ts: now, strategyId: rec.strategyId, intentId: rec.intentId, symbol: rec.symbol, side: rec.side, qty: e.fill.qty, price: e.fill.price });
      this.onFill(rec.strategyId, { venue, symbol: rec.symbol, side: rec.side, qty: e.fill.qty, price: e.fill.price, isTaker: e.fill.isTaker, intentId: rec.intentId, ts: now });
    }
    const u: OrderUpdate = {
      type: 'order', strategyId: rec.strategyId, intentId: rec.intentId, venue, venueOrderId: e.venueOrderId, symbol: rec.symbol, side: rec.side,
      state: e.state, venueStatus: e.venueStatus, qty: e.qty, filledQty: e.filledQty, ts: now,
      ...(fill ? { fill } : {}),
      ...(e.message !== undefined ? { message: e.message } : {}),
    };
    this.onUpdate?.(u);
    this.sinks.get(rec.strategyId)?.(u);
  }

  private openOf(strategyId: string): Map<string, OrderRecord> {
    let m = this.open.get(strategyId);
    if (!m) this.open.set(strategyId, (m = new Map()));
    return m;
  }
}

function deny(intent: Intent, rule: string, reason: string, figures?: Record<string, number | string>): IntentReply {
  return { status: 'denied', intentId: intent.intentId, rule, reason, ...(figures ? { figures } : {}) };
}

/** A venue refusal is a denial named as live names it (`venue_<kind>`); anything else is a bug and propagates. */
function refused(intent: Intent, e: unknown): IntentReply {
  if (e instanceof SimVenueRefusal) return deny(intent, `venue_${e.kind}`, e.message);
  throw e;
}
