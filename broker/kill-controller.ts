import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { newIntentId } from '../actors/ids.ts';
import type { IntentReply, KillLevel, KillScope, PlaceIntent } from '../actors/messages.ts';
import type { KillChange, KillState, KillStore, KillWatch } from './kill/kill-store.ts';
import { scopeLabel, type KillEntry } from './kill/levels.ts';
import { planFlatten, type FlattenOrder, type StrategyHolding } from './kill/flatten.ts';
import { SerialQueue } from '../actors/serial-queue.ts';
import { isTerminal, type OrderRecord } from './order-book.ts';
import type { VenueAdapter } from './venue.ts';

/**
 * What a kill level does, as opposed to what it permits (that is the broker's gate). It
 * follows the latched level in KV (`readThenWatch`), so a change written by anyone (the
 * operator's CLI, automation, another process) is acted on once, in revision order:
 *
 *   strategy scope raised to >= 1  → cancel that strategy's open orders
 *   global raised to 3             → cancel every open order (the book's, then any the venue still lists)
 *   global raised to 4             → cancel all, close every position (reduce-only, kill priority), stop every actor
 *   any scope lowered              → `onLowered` (re-arms that scope's automated triggers)
 *
 * Every change goes to the event log as a `kill` event. Actions run one at a time; a change
 * that arrives while one runs is queued behind it.
 */
export type KillEvent = {
  kind: 'kill';
  ts: number;
  strategyId?: string;
  level: KillLevel;
  scope: KillScope;
  reason: string;
  by: string;
  revision: number;
  figures?: Record<string, number | string>;
};

/** The part of the broker actor the controller drives. */
export type KillBroker = {
  cancelAll(strategyId?: string): Promise<number>;
  placeForKill(intent: PlaceIntent): Promise<IntentReply>;
  position(strategyId: string, symbol: string): number;
  readonly book: { open(strategyId?: string): OrderRecord[]; get(intentId: string): OrderRecord | undefined };
};

export type KillControllerOptions = {
  store: KillStore;
  venues: readonly VenueAdapter[];
  clock: Clock;
  log: Logger;
  events?: { record(ev: KillEvent, msgId?: string): void };
  onLowered?: (scope: KillScope) => void;
  /** How long one flatten round waits for its closing orders to end (default 10 s). */
  flattenWaitMs?: number;
  flattenRounds?: number;
};

export type ArmedDeps = {
  broker: KillBroker;
  /** Strategy ids and their instruments: whose positions a flatten order is booked to. */
  strategies: () => readonly { id: string; instruments: readonly string[] }[];
  /** Level 4: stop every strategy actor (and keep them down). */
  stopActors: () => Promise<void>;
};

export type FlattenReport = { rounds: number; orders: number; flat: boolean; remaining: { venue: string; symbol: string; qty: number }[] };

export class KillController {
  private readonly queue: SerialQueue;
  private watch: KillWatch | undefined;
  private armed!: (deps: ArmedDeps) => void;
  private readonly deps: Promise<ArmedDeps>;
  private held: KillState | undefined;
  private flattening: Promise<FlattenReport> | undefined;
  /** The last level-4 flatten's outcome (tests, /healthz). */
  lastFlatten: FlattenReport | undefined;

  constructor(private readonly opts: KillControllerOptions) {
    this.queue = new SerialQueue((err) => this.opts.log.error({ err }, 'kill action failed'));
    this.deps = new Promise((r) => (this.armed = r));
  }

  /**
   * Reads the latched state and follows it. Actions wait for `arm` (the broker must be up to
   * cancel anything), but the state and the event log are followed from here on.
   */
  async start(): Promise<KillState> {
    const { state, watch } = await this.opts.store.readThenWatch((c) => this.onChange(c));
    this.watch = watch;
    this.held = state;
    // A level latched before this process started still acts: orders an earlier process left
    // open are cancelled, positions it left are closed.
    const g = state.global.level;
    if (g >= 3) this.queue.push(() => this.haltAll(g === 4, state.global));
    for (const [id, e] of Object.entries(state.strategies)) if (e.level >= 1 && g < 3) this.queue.push(() => this.halt(id, e));
    return state;
  }

  arm(deps: ArmedDeps): void {
    this.armed(deps);
  }

  stop(): void {
    this.watch?.stop();
  }

  /** Resolves once every action queued so far has run. */
  idle(): Promise<void> {
    return this.queue.drain();
  }

  private onChange(c: KillChange): void {
    const prevState = this.held;
    this.held = c.state;
    const prev = c.scope.kind === 'global' ? prevState?.global.level ?? 0 : prevState?.strategies[c.scope.strategyId]?.level ?? 0;
    const e = c.entry;
    this.opts.events?.record(
      { kind: 'kill', ts: e.ts, ...(c.scope.kind === 'strategy' ? { strategyId: c.scope.strategyId } : {}), level: e.level, scope: c.scope, reason: e.reason, by: e.by, revision: e.revision, ...(e.figures ? { figures: e.figures } : {}) },
      `kill:${e.revision}`,
    );
    this.opts.log.warn({ scope: scopeLabel(c.scope), from: prev, level: e.level, by: e.by, reason: e.reason, figures: e.figures, revision: e.revision }, 'kill level changed');
    if (e.level < prev) {
      this.opts.onLowered?.(c.scope);
      return;
    }
    if (e.level === prev) return;
    if (c.scope.kind === 'strategy') {
      if (e.level >= 1) this.queue.push(() => this.halt(c.scope.kind === 'strategy' ? c.scope.strategyId : '', e));
      return;
    }
    if (e.level >= 3) this.queue.push(() => this.haltAll(e.level === 4, e));
  }

  private async halt(strategyId: string, e: KillEntry): Promise<void> {
    const { broker } = await this.deps;
    const n = await broker.cancelAll(strategyId);
    this.opts.log.warn({ strategy: strategyId, cancelled: n, revision: e.revision }, 'strategy halted: its open orders cancelled');
  }

  private async haltAll(flatten: boolean, e: KillEntry): Promise<void> {
    const deps = await this.deps;
    const known = new Set(deps.broker.book.open().map((o) => o.venueOrderId).filter((x): x is string => !!x));
    const n = await deps.broker.cancelAll();
    const swept = await this.sweep(known);
    this.opts.log.warn({ cancelled: n, swept, revision: e.revision }, 'halt all: every open order cancelled');
    if (!flatten) return;
    const report = await this.flatten(deps);
    this.opts.log.warn({ ...report, revision: e.revision }, report.flat ? 'flatten: every position closed' : 'flatten: positions remain; operator action needed');
    await deps.stopActors();
    this.opts.log.warn({ revision: e.revision }, 'flatten: every strategy actor stopped; they stay down until the level is reset and the processes restart');
  }

  /** Orders the venue still lists as open that the book did not know (or an earlier process placed). */
  private async sweep(alreadyCancelled: ReadonlySet<string>): Promise<number> {
    let n = 0;
    for (const v of this.opts.venues) {
      try {
        for (const o of await v.openOrders()) {
          if (alreadyCancelled.has(o.venueOrderId)) continue;
          await v.cancel(o.venueOrderId, 'kill').then(() => n++, (err) => this.opts.log.error({ err, venueOrderId: o.venueOrderId }, 'kill sweep cancel failed'));
        }
      } catch (err) {
        this.opts.log.error({ err, venue: v.venue }, 'kill sweep: open orders unreadable');
      }
    }
    return n;
  }

  /** Single-flight: a second level-4 change while one flatten runs joins it, never doubles the closing orders. */
  private flatten(deps: ArmedDeps): Promise<FlattenReport> {
    this.flattening ??= this.runFlatten(deps).finally(() => (this.flattening = undefined));
    return this.flattening.then((r) => (this.lastFlatten = r));
  }

  private async runFlatten(deps: ArmedDeps): Promise<FlattenReport> {
    const rounds = this.opts.flattenRounds ?? 3;
    let orders = 0;
    let remaining: FlattenReport['remaining'] = [];
    for (let round = 1; round <= rounds; round++) {
      const plan: FlattenOrder[] = [];
      remaining = [];
      for (const v of this.opts.venues) {
        try {
          const positions = (await v.positions()).filter((p) => p.qty !== 0);
          for (const p of positions) remaining.push({ venue: v.venue, symbol: p.symbol, qty: p.qty });
          plan.push(...planFlatten(v.venue, positions, (symbol) => holdings(deps, symbol)));
        } catch (err) {
          this.opts.log.error({ err, venue: v.venue, round }, 'flatten: positions unreadable');
        }
      }
      if (remaining.length === 0) return { rounds: round - 1, orders, flat: true, remaining };
      const ids: string[] = [];
      for (const o of plan) {
        const intent: PlaceIntent = {
          action: 'place', intentId: newIntentId(), strategyId: o.strategyId, ts: this.opts.clock.now(), venue: o.venue,
          symbol: o.symbol, side: o.side, qty: o.qty, orderType: 'MARKET', reduceOnly: true,
        };
        const reply = await deps.broker.placeForKill(intent);
        orders++;
        if (reply.status === 'accepted') ids.push(intent.intentId);
        else this.opts.log.error({ symbol: o.symbol, side: o.side, qty: o.qty, rule: reply.rule, reason: reply.reason }, 'flatten order refused');
      }
      await this.untilEnded(deps, ids);
    }
    return { rounds, orders, flat: false, remaining };
  }

  /** Waits (on the Clock) until the closing orders are filled, cancelled or rejected. */
  private async untilEnded(deps: ArmedDeps, ids: readonly string[]): Promise<void> {
    const deadline = this.opts.clock.now() + (this.opts.flattenWaitMs ?? 10_000);
    while (this.opts.clock.now() < deadline) {
      if (ids.every((id) => { const r = deps.broker.book.get(id); return !r || isTerminal(r.state); })) return;
      await this.opts.clock.sleep(50);
    }
  }
}

function holdings(deps: ArmedDeps, symbol: string): StrategyHolding[] {
  const out: StrategyHolding[] = [];
  for (const s of deps.strategies()) {
    if (!s.instruments.includes(symbol)) continue;
    const net = deps.broker.position(s.id, symbol);
    if (net !== 0) out.push({ strategyId: s.id, net });
  }
  return out;
}
