import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import { type BrokerEvent, type Intent, type KillLevel, type OrderUpdate, type StrategyStateReply, type Tick, KILL_LEVEL_NAMES } from './messages.ts';
import { newIntentId } from './ids.ts';
import { SerialQueue, type JobQueue } from './serial-queue.ts';
import type { KillGate } from './kill-gate.ts';
import type { StrategySpec } from '../config/registry.ts';
import type { Strategy, StrategyContext, StrategyModule, PlaceRequest, ModifyRequest, OpenOrder, IntentAnswer } from './strategy-contract.ts';

export type TickPolicy = 'latest' | 'every';

export type StrategySessionOptions = {
  spec: StrategySpec;
  module: StrategyModule;
  clock: Clock;
  log: Logger;
  /** Carries an intent to the broker and brings its answer back (NATS live, a call in a backtest). */
  send: (intent: Intent) => Promise<IntentAnswer>;
  /** A callback threw: the session takes nothing more (live, the actor crashes and is restarted). */
  onCrash: (err: unknown) => void;
  /**
   * What runs the callbacks (default a SerialQueue reporting to `onCrash`). A backtest gives an
   * InlineQueue it runs itself, so a tick's callbacks finish before the next tick, in-process.
   */
  queue?: JobQueue;
  /** Read before every place and modify (actors/kill-gate.ts). */
  gate: KillGate;
  /**
   * A strategy slower than its ticks: `latest` (default) keeps one waiting tick per instrument,
   * replacing it with each newer one, so a slow strategy trades on the newest price and its
   * backlog cannot grow; `every` queues every tick (a backtest, where the data's pace is the
   * strategy's and nothing may depend on timing).
   */
  tickPolicy?: TickPolicy;
  /** A tick was replaced before the strategy took it (the `latest` policy). */
  onConflated?: () => void;
  /** Intent ids (default random; a backtest numbers them, so a run repeats exactly). */
  newIntentId?: () => string;
  killLevel: () => KillLevel;
  brokerConnected: () => boolean;
};

/**
 * What a strategy sees, whatever carries its messages: the `StrategyContext` it is given, its
 * position from its fills (each counted once) and its open orders from the moment it places
 * them, and its callbacks run one at a time in arrival order. The live actor
 * (actors/strategy-actor.ts) feeds it from NATS; a backtest feeds it from recorded data. Both
 * run the same code here, so a strategy cannot behave differently in a backtest.
 */
export class StrategySession {
  readonly ctx: StrategyContext;
  private readonly queue: JobQueue;
  private strategy: Strategy | undefined;
  private readonly lastSeq = new Map<string, number>();
  /** Per instrument, the tick waiting for the strategy (latest-tick policy). */
  private readonly waitingTick = new Map<string, Tick>();
  private readonly positions = new Map<string, number>();
  private readonly seenFills = new Set<string>();
  private readonly orders = new Map<string, OpenOrder>();
  /** Places still waiting for the broker's answer: a snapshot may not know them yet. */
  private readonly awaitingReply = new Set<string>();
  ticks = 0;
  tickGaps = 0;
  conflated = 0;
  intents = 0;

  constructor(private readonly opts: StrategySessionOptions) {
    this.queue = opts.queue ?? new SerialQueue((err) => opts.onCrash(err));
    this.ctx = this.buildContext();
  }

  /** Makes the strategy from its module and parameters. */
  create(): void {
    this.strategy = this.opts.module.create(this.opts.spec.params);
  }

  start(): void {
    this.queue.push(() => this.strategy?.onStart?.(this.ctx));
  }

  /** Queues `onStop` and resolves once every callback queued before it has run. */
  async stop(): Promise<void> {
    this.queue.push(() => this.strategy?.onStop?.(this.ctx));
    await this.queue.drain();
  }

  /** Resolves once every callback queued so far has run. */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  tick(t: Tick): void {
    const prev = this.lastSeq.get(t.symbol);
    if (prev !== undefined && t.seq > prev + 1) this.tickGaps += t.seq - prev - 1;
    if (prev !== undefined && t.seq <= prev) return; // a replay; ticks are not idempotent for a strategy
    this.lastSeq.set(t.symbol, t.seq);
    this.ticks++;
    if ((this.opts.tickPolicy ?? 'latest') === 'every') return this.queue.push(() => this.strategy?.onTick(t, this.ctx));
    // Still waiting: the newer tick takes its place in the queue (README.md, "Writing a strategy").
    if (this.waitingTick.has(t.symbol)) {
      this.waitingTick.set(t.symbol, t);
      this.conflated++;
      this.opts.onConflated?.();
      return;
    }
    this.waitingTick.set(t.symbol, t);
    this.queue.push(() => {
      const latest = this.waitingTick.get(t.symbol) ?? t;
      this.waitingTick.delete(t.symbol);
      return this.strategy?.onTick(latest, this.ctx);
    });
  }

  orderUpdate(u: OrderUpdate): void {
    if (u.fill && !this.seenFills.has(u.fill.fillId)) {
      this.seenFills.add(u.fill.fillId);
      const signed = u.side === 'BUY' ? u.fill.qty : -u.fill.qty;
      this.positions.set(u.symbol, (this.positions.get(u.symbol) ?? 0) + signed);
    }
    const o = this.orders.get(u.intentId);
    if (o) {
      o.state = u.state;
      o.qty = u.qty;
      o.filledQty = Math.max(o.filledQty, u.filledQty);
      if (u.state === 'filled' || u.state === 'cancelled' || u.state === 'rejected') this.orders.delete(u.intentId);
    }
    this.queue.push(() => this.strategy?.onOrderUpdate?.(u, this.ctx));
  }

  brokerEvent(e: BrokerEvent): void {
    this.queue.push(() => this.strategy?.onBrokerEvent?.(e, this.ctx));
  }

  /** The broker's view replaces ours, except places of ours it may not have decided yet. */
  applyState(st: StrategyStateReply): void {
    this.positions.clear();
    for (const p of st.positions) this.positions.set(p.symbol, p.qty);
    for (const [id, o] of this.orders) if (!(this.awaitingReply.has(id) && o.state === 'pending')) this.orders.delete(id);
    for (const o of st.openOrders) {
      const open: OpenOrder = { intentId: o.intentId, symbol: o.symbol, side: o.side, qty: o.qty, filledQty: o.filledQty, state: o.state, ...(o.limitPrice !== undefined ? { limitPrice: o.limitPrice } : {}) };
      this.orders.set(o.intentId, open);
    }
  }

  positionsView(): Record<string, number> {
    return Object.fromEntries(this.positions);
  }

  openOrderCount(): number {
    return this.orders.size;
  }

  /** A place or modify the kill level forbids, answered here: nothing is sent. */
  private gateDenial(intentId: string, action: 'place' | 'modify'): IntentAnswer | undefined {
    if (!this.opts.gate.blocksNewOrders()) return undefined;
    const level = this.opts.gate.level();
    return { status: 'denied', intentId, rule: 'kill_level', reason: `kill level ${level} (${KILL_LEVEL_NAMES[level]}): no new orders or modifications; the ${action} was not sent` };
  }

  private send(intent: Intent): Promise<IntentAnswer> {
    this.intents++;
    return this.opts.send(intent);
  }

  private buildContext(): StrategyContext {
    const { spec, clock, log } = this.opts;
    const nextId = this.opts.newIntentId ?? newIntentId;
    return {
      id: spec.id,
      venue: spec.venue,
      instruments: spec.instruments,
      log,
      clock,
      place: async (req: PlaceRequest) => {
        const intentId = nextId();
        const closed = this.gateDenial(intentId, 'place');
        if (closed) return closed;
        const intent: Intent = {
          action: 'place', intentId, strategyId: spec.id, ts: clock.now(), venue: spec.venue,
          symbol: req.symbol, side: req.side, qty: req.qty, orderType: req.orderType,
          ...(req.limitPrice !== undefined ? { limitPrice: req.limitPrice } : {}),
          ...(req.reduceOnly !== undefined ? { reduceOnly: req.reduceOnly } : {}),
        };
        // Track before sending: an update can arrive before the reply does.
        const open: OpenOrder = { intentId, symbol: req.symbol, side: req.side, qty: req.qty, filledQty: 0, state: 'pending', ...(req.limitPrice !== undefined ? { limitPrice: req.limitPrice } : {}) };
        this.orders.set(intentId, open);
        this.awaitingReply.add(intentId);
        try {
          const reply = await this.send(intent);
          // Timed out: the order may exist; it stays `pending` until an update says otherwise.
          if (reply.status === 'denied') this.orders.delete(intentId);
          return reply;
        } finally {
          this.awaitingReply.delete(intentId);
        }
      },
      cancel: (targetIntentId: string) =>
        this.send({ action: 'cancel', intentId: nextId(), strategyId: spec.id, ts: clock.now(), targetIntentId }),
      modify: async (targetIntentId: string, change: ModifyRequest) => {
        const intentId = nextId();
        const closed = this.gateDenial(intentId, 'modify');
        if (closed) return closed;
        const reply = await this.send({
          action: 'modify', intentId, strategyId: spec.id, ts: clock.now(), targetIntentId,
          ...(change.qty !== undefined ? { qty: change.qty } : {}),
          ...(change.price !== undefined ? { limitPrice: change.price } : {}),
        });
        // The venue took it: the order rests at its new shape (an update may have said so already).
        const o = this.orders.get(targetIntentId);
        if (reply.status === 'accepted' && o) {
          if (change.qty !== undefined) o.qty = change.qty;
          if (change.price !== undefined) o.limitPrice = change.price;
        }
        return reply;
      },
      position: (symbol: string) => this.positions.get(symbol) ?? 0,
      openOrders: () => [...this.orders.values()].map((o) => ({ ...o })),
      killLevel: this.opts.killLevel,
      brokerConnected: this.opts.brokerConnected,
    };
  }
}
