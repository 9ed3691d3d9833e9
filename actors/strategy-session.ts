import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import { type BrokerEvent, type Intent, type KillLevel, type OrderUpdate, type StrategyStateReply, type Tick, KILL_LEVEL_NAMES, tickEpoch } from './messages.ts';
import { newIntentId } from './ids.ts';
import { SerialQueue, type JobQueue } from './serial-queue.ts';
import type { KillGate } from './kill-gate.ts';
import type { StrategySpec } from '../config/registry.ts';
import type { Strategy, StrategyContext, StrategyModule, PlaceRequest, ModifyRequest, OpenOrder, IntentAnswer } from './strategy-contract.ts';

export type TickPolicy = 'latest' | 'every';

/** A live tick still in its bytes (StrategySession.tickUnread). */
class UnreadTick {
  constructor(readonly seq: number | undefined, readonly read: () => Tick | undefined) {}
}

/** A tick waiting for the strategy: read, or still to be read. */
type Waiting = Tick | UnreadTick;

/** The newest tick of an instrument from the host's shared memory, and how many older ones it replaced unseen. */
export type SlotTick = { tick: Tick; skipped: number };

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
  /** `n` ticks (default 1) were replaced before the strategy took them (the `latest` policy). */
  onConflated?: (n?: number) => void;
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
  /** Per instrument, the tick waiting for the strategy (latest-tick policy), read or still in its bytes. */
  private readonly waitingTick = new Map<string, Waiting>();
  /**
   * Per instrument, while an unread tick waits: how many unread ticks it replaced since the last
   * one read (their seqs are not gaps) and the highest seq among them (an older one is a replay).
   */
  private readonly unread = new Map<string, { replaced: number; top: number }>();
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

  /** A tick already read (a catch-up answer, a backtest). */
  tick(t: Tick): void {
    const latest = (this.opts.tickPolicy ?? 'latest') === 'latest';
    const waiting = latest ? this.waitingTick.get(t.symbol) : undefined;
    if (waiting instanceof UnreadTick) {
      // A live tick not read yet may be newer than this one (a catch-up answer that came
      // late): read it first, so that the newer of the two is the one that waits.
      const read = this.readUnread(t.symbol, waiting);
      if (read) this.waitingTick.set(t.symbol, read);
      else this.waitingTick.delete(t.symbol); // its queued turn finds nothing, or the next tick
    }
    if (!this.accept(t, 0)) return;
    this.ticks++;
    if (!latest) return this.queue.push(() => this.strategy?.onTick(t, this.ctx));
    this.offer(t.symbol, t);
  }

  /**
   * A live tick still in its bytes: `read` parses and checks it (undefined: refused, and
   * dead-lettered by `read`); `seq` is the sequence number its bytes name, read without
   * parsing them (undefined if not found). Under the latest-tick policy it is read only when
   * the strategy is ready for it, so a newer tick of the instrument that arrives first replaces
   * it unread: a strategy that falls behind costs a map write per tick, not a parse. `seq`
   * tells a replaced tick from a replay, so the ticks lost in transport are still counted
   * exactly; it is checked against the tick when read.
   */
  tickUnread(symbol: string, seq: number | undefined, read: () => Tick | undefined): void {
    if ((this.opts.tickPolicy ?? 'latest') === 'every') {
      const t = read();
      if (t) this.tick(t);
      return;
    }
    const prev = this.lastSeq.get(symbol) ?? 0;
    const pending = this.unread.get(symbol);
    // Already seen, or older than a tick still waiting: a replay, dropped as a read one would be.
    if (seq !== undefined && seq <= Math.max(prev, pending?.top ?? 0)) return;
    this.ticks++;
    const replacing = this.waitingTick.get(symbol);
    if (replacing instanceof UnreadTick && replacing.seq !== undefined) {
      // Numbered between the last tick read and this one: conflated, not lost.
      if (pending) pending.replaced++;
      else this.unread.set(symbol, { replaced: 1, top: replacing.seq });
    }
    if (seq !== undefined) {
      const p = this.unread.get(symbol);
      if (p) p.top = seq;
      else this.unread.set(symbol, { replaced: 0, top: seq });
    }
    this.offer(symbol, new UnreadTick(seq, read));
  }

  /**
   * A live tick of `symbol` waits in the host's shared memory (actors/tick-feed.ts): conflated
   * at the source, so this only queues the strategy's turn; `take` reads the newest tick at that
   * turn, with how many ticks it replaced unseen (counted as conflated: their seqs are not
   * gaps). A seq jump beyond those is ticks lost in transport or refused by the hub, counted in
   * `tickGaps`. The feed queues at most one turn per instrument at a time.
   */
  tickFromSlot(symbol: string, take: () => SlotTick | undefined): void {
    this.queue.push(() => {
      const r = take();
      if (!r) return undefined;
      this.ticks += 1 + r.skipped;
      if (r.skipped > 0) {
        this.conflated += r.skipped;
        this.opts.onConflated?.(r.skipped);
      }
      if (r.tick.symbol !== symbol || !this.accept(r.tick, r.skipped)) {
        this.ticks--;
        return undefined;
      }
      return this.strategy?.onTick(r.tick, this.ctx);
    });
  }

  /** Seq bookkeeping for a tick about to be taken; false for one already seen (a replay). */
  private accept(t: Tick, replacedUnread: number): boolean {
    const prev = this.lastSeq.get(t.symbol);
    // A new broker (a standby that took over) numbers from its own epoch: its first tick is no gap.
    const sameBroker = prev !== undefined && tickEpoch(prev) === tickEpoch(t.seq);
    if (sameBroker && t.seq > prev + 1 + replacedUnread) this.tickGaps += t.seq - prev - 1 - replacedUnread;
    if (prev !== undefined && t.seq <= prev) return false; // a replay; ticks are not idempotent for a strategy
    this.lastSeq.set(t.symbol, t.seq);
    return true;
  }

  /** Latest-tick policy: the tick waits for the strategy, or replaces the one waiting. */
  private offer(symbol: string, w: Waiting): void {
    // Still waiting: the newer tick takes its place in the queue (README.md, "Writing a strategy").
    if (this.waitingTick.has(symbol)) {
      this.waitingTick.set(symbol, w);
      this.conflated++;
      this.opts.onConflated?.();
      return;
    }
    this.waitingTick.set(symbol, w);
    this.queue.push(() => {
      const t = this.take(symbol);
      return t ? this.strategy?.onTick(t, this.ctx) : undefined;
    });
  }

  /** The waiting tick of `symbol`, read if it is still bytes; undefined if none, refused or already seen. */
  private take(symbol: string): Tick | undefined {
    const w = this.waitingTick.get(symbol);
    this.waitingTick.delete(symbol);
    return w instanceof UnreadTick ? this.readUnread(symbol, w) : w;
  }

  private readUnread(symbol: string, w: UnreadTick): Tick | undefined {
    const t = w.read();
    if (!t) {
      // Refused (dead-lettered by `read`): its own seq shows as a gap at the next tick, as a
      // refused tick's always has; the ticks it replaced stay counted as conflated; and the seq
      // its bytes named decides nothing (a broken payload must not make live ticks look old).
      const pending = this.unread.get(symbol);
      if (pending) pending.top = 0;
      return undefined;
    }
    const replaced = this.unread.get(symbol)?.replaced ?? 0;
    this.unread.delete(symbol);
    if (this.accept(t, replaced)) return t;
    this.ticks--; // counted as it arrived, but a replay after all
    return undefined;
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
