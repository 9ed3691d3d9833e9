/**
 * A strategy in a backtest: the live StrategySession (actors/strategy-session.ts), the same
 * StrategyContext, bookkeeping and delivery order a strategy actor gives it, fed in-process.
 * Its callbacks run through an InlineQueue the runner empties after every tick, every tick is
 * delivered (the data's pace is the strategy's), intent ids count per strategy (a run repeats
 * exactly), and intents go to the backtest broker, answered before the next line of the
 * strategy runs.
 */
import type { Logger } from 'pino';
import type { Intent, IntentReply, OrderUpdate, Tick } from '../actors/messages.ts';
import { KillGate } from '../actors/kill-gate.ts';
import { InlineQueue } from '../actors/serial-queue.ts';
import { StrategySession } from '../actors/strategy-session.ts';
import type { StrategyContext, StrategyModule } from '../strategies/sdk.ts';
import type { StrategySpec } from '../config/registry.ts';
import type { VirtualClock } from './virtual-clock.ts';

export class BacktestStrategy {
  readonly ctx: StrategyContext;
  /** The strategy's kill gate: the backtest's kill triggers close it as the supervisor would live. */
  readonly gate = new KillGate();
  private readonly session: StrategySession;
  private readonly queue: InlineQueue;
  private intentSeq = 0;
  /** Set when a callback threw: the strategy gets nothing more (live, its actor would crash and restart). */
  crashed: Error | undefined;

  constructor(
    readonly spec: StrategySpec,
    module: StrategyModule,
    clock: VirtualClock,
    log: Logger,
    send: (intent: Intent) => IntentReply,
  ) {
    this.queue = new InlineQueue((e) => this.fail(e));
    this.session = new StrategySession({
      spec, module, clock, log: log.child({ strategy: spec.id }), gate: this.gate, queue: this.queue, tickPolicy: 'every',
      send: (intent) => Promise.resolve(send(intent)),
      onCrash: (e) => this.fail(e),
      newIntentId: () => `${spec.id}-${++this.intentSeq}`,
      killLevel: () => this.gate.level(),
      brokerConnected: () => true,
    });
    this.ctx = this.session.ctx;
    this.session.create();
  }

  get ticks(): number {
    return this.session.ticks;
  }

  start(): void {
    this.session.start();
  }
  /** Queues `onStop` and resolves once it and everything before it has run. */
  async stop(): Promise<void> {
    if (!this.crashed) await this.session.stop();
  }
  tick(t: Tick): void {
    if (!this.crashed) this.session.tick(t);
  }
  orderUpdate(u: OrderUpdate): void {
    this.session.orderUpdate(u);
  }

  /** Callbacks waiting to run. */
  get busy(): boolean {
    return this.queue.busy;
  }

  /**
   * Runs every queued callback, and those they queue, to the end. Synchronous while the callbacks
   * are: a promise only once one returns one.
   */
  drain(): Promise<void> | undefined {
    return this.queue.run();
  }

  private fail(e: unknown): void {
    this.crashed ??= e instanceof Error ? e : new Error(String(e));
    this.queue.close();
  }
}
