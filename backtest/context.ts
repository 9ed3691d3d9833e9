/**
 * A strategy in a backtest: its module's callbacks behind the same StrategyContext
 * (strategies/sdk.ts) a strategy actor gives it live, with the actor's bookkeeping (a position
 * from its fills, each counted once; its open orders from the moment it places them, kept by
 * order updates) and its delivery order (callbacks one at a time, in arrival order). Intents go
 * to the backtest broker in-process and are answered before the next line of the strategy runs.
 */
import type { Logger } from 'pino';
import type { Intent, IntentReply, OrderUpdate, Tick } from '../actors/messages.ts';
import type { Strategy, StrategyContext, StrategyModule, OpenOrder, PlaceRequest, ModifyRequest } from '../strategies/sdk.ts';
import type { StrategySpec } from '../config/registry.ts';
import type { VirtualClock } from './virtual-clock.ts';

type Job = () => void | Promise<void>;

export class BacktestStrategy {
  readonly ctx: StrategyContext;
  private readonly strategy: Strategy;
  private readonly queue: Job[] = [];
  private readonly positions = new Map<string, number>();
  private readonly seenFills = new Set<string>();
  private readonly orders = new Map<string, OpenOrder>();
  private intentSeq = 0;
  /** Set when a callback threw: the strategy gets nothing more (live, its actor would crash and restart). */
  crashed: Error | undefined;
  ticks = 0;

  constructor(
    readonly spec: StrategySpec,
    module: StrategyModule,
    private readonly clock: VirtualClock,
    log: Logger,
    private readonly send: (intent: Intent) => IntentReply,
  ) {
    this.strategy = module.create(spec.params);
    this.ctx = this.buildContext(log.child({ strategy: spec.id }));
  }

  start(): void {
    this.queue.push(() => this.strategy.onStart?.(this.ctx));
  }
  stop(): void {
    this.queue.push(() => this.strategy.onStop?.(this.ctx));
  }
  tick(t: Tick): void {
    if (this.crashed) return;
    this.ticks++;
    this.queue.push(() => this.strategy.onTick(t, this.ctx));
  }
  orderUpdate(u: OrderUpdate): void {
    if (u.fill && !this.seenFills.has(u.fill.fillId)) {
      this.seenFills.add(u.fill.fillId);
      this.positions.set(u.symbol, (this.positions.get(u.symbol) ?? 0) + (u.side === 'BUY' ? u.fill.qty : -u.fill.qty));
    }
    const o = this.orders.get(u.intentId);
    if (o) {
      o.state = u.state;
      o.qty = u.qty;
      o.filledQty = Math.max(o.filledQty, u.filledQty);
      if (u.state === 'filled' || u.state === 'cancelled' || u.state === 'rejected') this.orders.delete(u.intentId);
    }
    if (!this.crashed) this.queue.push(() => this.strategy.onOrderUpdate?.(u, this.ctx));
  }

  /** Callbacks waiting to run. */
  get busy(): boolean {
    return this.queue.length > 0;
  }

  /**
   * Runs every queued callback, and those they queue, to the end. Synchronous while the callbacks
   * are (most onTick calls of a fast strategy return nothing): a promise only once one returns one.
   */
  drain(): Promise<void> | undefined {
    while (this.queue.length > 0 && !this.crashed) {
      const job = this.queue.shift()!;
      let r: void | Promise<void>;
      try {
        r = job();
      } catch (e) {
        this.fail(e);
        return undefined;
      }
      if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
        return (r as Promise<void>).then(() => this.drain(), (e: unknown) => this.fail(e));
      }
    }
    return undefined;
  }

  private fail(e: unknown): void {
    this.crashed = e instanceof Error ? e : new Error(String(e));
    this.queue.length = 0;
  }

  /** Intent ids from a per-strategy counter: the same run gives the same ids (the hash depends on it). */
  private nextIntentId(): string {
    return `${this.spec.id}-${++this.intentSeq}`;
  }

  private buildContext(log: Logger): StrategyContext {
    const { spec, clock } = this;
    return {
      id: spec.id,
      venue: spec.venue,
      instruments: spec.instruments,
      log,
      clock,
      place: (req: PlaceRequest) => {
        const intentId = this.nextIntentId();
        const open: OpenOrder = { intentId, symbol: req.symbol, side: req.side, qty: req.qty, filledQty: 0, state: 'pending', ...(req.limitPrice !== undefined ? { limitPrice: req.limitPrice } : {}) };
        // Tracked before it is sent: the updates of a crossing order come before the reply.
        this.orders.set(intentId, open);
        const reply = this.send({
          action: 'place', intentId, strategyId: spec.id, ts: clock.now(), venue: spec.venue,
          symbol: req.symbol, side: req.side, qty: req.qty, orderType: req.orderType,
          ...(req.limitPrice !== undefined ? { limitPrice: req.limitPrice } : {}),
          ...(req.reduceOnly !== undefined ? { reduceOnly: req.reduceOnly } : {}),
        });
        if (reply.status === 'denied') this.orders.delete(intentId);
        return Promise.resolve(reply);
      },
      cancel: (targetIntentId: string) => Promise.resolve(this.send({ action: 'cancel', intentId: this.nextIntentId(), strategyId: spec.id, ts: clock.now(), targetIntentId })),
      modify: (targetIntentId: string, change: ModifyRequest) => {
        const reply = this.send({
          action: 'modify', intentId: this.nextIntentId(), strategyId: spec.id, ts: clock.now(), targetIntentId,
          ...(change.qty !== undefined ? { qty: change.qty } : {}),
          ...(change.price !== undefined ? { limitPrice: change.price } : {}),
        });
        const o = this.orders.get(targetIntentId);
        if (reply.status === 'accepted' && o) {
          if (change.qty !== undefined) o.qty = change.qty;
          if (change.price !== undefined) o.limitPrice = change.price;
        }
        return Promise.resolve(reply);
      },
      position: (symbol: string) => this.positions.get(symbol) ?? 0,
      openOrders: () => [...this.orders.values()].map((o) => ({ ...o })),
      killLevel: () => 0,
      brokerConnected: () => true,
    };
  }
}
