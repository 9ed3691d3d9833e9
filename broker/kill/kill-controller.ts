import type { Logger } from 'pino';
import type { Clock } from '../../actors/clock.ts';
import { newIntentId } from '../../actors/ids.ts';
import type { IntentReply, KillLevel, KillScope, PlaceIntent, Venue } from '../../actors/messages.ts';
import type { KillChange, KillState, KillStore, KillWatch } from './kill-store.ts';
import { scopeLabel, type KillEntry } from './levels.ts';
import { closingIntent, planFlatten, type FlattenOrder, type StrategyHolding } from './flatten.ts';
import { metrics } from '../../actors/metrics.ts';
import { SerialQueue } from '../../actors/serial-queue.ts';
import { isTerminal, type OrderRecord } from '../order-book.ts';
import type { VenueAdapter } from '../venue.ts';
import { FlattenSettingsSchema, type FlattenSettings } from '../../config/flatten-settings.ts';

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
  placeForKill(intent: PlaceIntent, marketProtection?: number): Promise<IntentReply>;
  cancelForKill(intentId: string): Promise<boolean>;
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
  /** How closing orders are sent and followed (registry `flatten:`). */
  flatten?: FlattenSettings;
};

export type ArmedDeps = {
  broker: KillBroker;
  /** Strategy ids and their instruments: whose positions a flatten order is booked to. */
  strategies: () => readonly { id: string; venue: Venue; instruments: readonly string[] }[];
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
  /** The last flatten's outcome and whose it was ('global' for level 4, or the strategy id): `orch status`, tests. */
  lastFlatten: (FlattenReport & { scope: string; ts: number }) | undefined;

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
    this.opts.log.warn({ scope: scopeLabel(c.scope), from: prev, killLevel: e.level, by: e.by, reason: e.reason, figures: e.figures, revision: e.revision }, 'kill level changed');
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
    this.flattening ??= this.runFlatten(deps, () => this.venuePositions(deps)).finally(() => (this.flattening = undefined));
    return this.flattening.then((r) => {
      this.lastFlatten = { ...r, scope: 'global', ts: this.opts.clock.now() };
      return r;
    });
  }

  /**
   * `orch flatten --strategy ID`: halts the strategy (level 1: no new orders, its open orders
   * cancelled) and closes what the broker books to it, followed to flat like level 4. The
   * strategy stays halted until the operator resets it.
   */
  async flattenStrategy(strategyId: string, reason: string, by: string): Promise<FlattenReport> {
    const deps = await this.deps;
    const spec = deps.strategies().find((s) => s.id === strategyId);
    if (!spec) throw new Error(`strategy ${strategyId} is not running`);
    await this.opts.store.raise(1, { kind: 'strategy', strategyId }, reason, by);
    await this.idle(); // the halt's cancels run before any closing order
    await deps.broker.cancelAll(strategyId);
    const previous = this.flattening ?? Promise.resolve(undefined);
    const run = previous.catch(() => undefined).then(() => this.runFlatten(deps, async () => {
      const plan: FlattenOrder[] = [];
      const remaining: FlattenReport['remaining'] = [];
      for (const symbol of spec.instruments) {
        const net = deps.broker.position(strategyId, symbol);
        if (net === 0) continue;
        remaining.push({ venue: spec.venue, symbol, qty: net });
        plan.push({ strategyId, venue: spec.venue, symbol, side: net > 0 ? 'SELL' : 'BUY', qty: Math.abs(net) });
      }
      return { plan, remaining };
    }));
    const report = await run;
    this.lastFlatten = { ...report, scope: strategyId, ts: this.opts.clock.now() };
    this.opts.log.warn({ strategy: strategyId, ...report, by }, report.flat ? 'strategy flattened' : 'strategy flatten: positions remain; operator action needed');
    return report;
  }

  /** Level 4 closes what the venues say the account holds, booked to the strategies holding it. */
  private async venuePositions(deps: ArmedDeps): Promise<Round> {
    const plan: FlattenOrder[] = [];
    const remaining: FlattenReport['remaining'] = [];
    for (const v of this.opts.venues) {
      try {
        const positions = (await v.positions()).filter((p) => p.qty !== 0);
        for (const p of positions) remaining.push({ venue: v.venue, symbol: p.symbol, qty: p.qty });
        plan.push(...planFlatten(v.venue, positions, (symbol) => holdings(deps, symbol)));
      } catch (err) {
        this.opts.log.error({ err, venue: v.venue }, 'flatten: positions unreadable');
        remaining.push({ venue: v.venue, symbol: '(unreadable)', qty: 0 });
      }
    }
    return { plan, remaining };
  }

  /**
   * Closes, then follows: each round reads what is left, sends closing orders (per venue:
   * closingIntent), waits up to followMs for them to end, and cancels what still rests (a
   * clipped protected order, an unfilled limit) before the next round re-reads the position,
   * so two closing orders for one position never rest at once. A MARKET order is never taken
   * for filled. After maxReprices re-prices the remainder is reported and alerted.
   */
  private async runFlatten(deps: ArmedDeps, read: () => Promise<Round>): Promise<FlattenReport> {
    const settings = this.opts.flatten ?? FlattenSettingsSchema.parse({});
    let orders = 0;
    let remaining: FlattenReport['remaining'] = [];
    for (let round = 0; ; round++) {
      const now = await read();
      remaining = now.remaining;
      if (remaining.length === 0) return this.finish({ rounds: round, orders, flat: true, remaining });
      if (round > settings.maxReprices) break;
      if (round > 0) for (const o of now.plan) metrics.flattenRepricesTotal.inc({ venue: o.venue });
      const ids: string[] = [];
      for (const o of now.plan) {
        const { intent, marketProtection } = closingIntent(o, settings, newIntentId(), this.opts.clock.now());
        const reply = await deps.broker.placeForKill(intent, marketProtection);
        orders++;
        if (reply.status === 'accepted') ids.push(intent.intentId);
        else this.opts.log.error({ symbol: o.symbol, side: o.side, qty: o.qty, rule: reply.rule, reason: reply.reason }, 'flatten order refused');
      }
      await this.untilEnded(deps, ids, settings.followMs);
      const resting = ids.filter((id) => !ended(deps, id));
      if (resting.length === 0) continue;
      this.opts.log.warn({ resting: resting.length, round }, 'flatten: closing orders still resting; cancelling the remainder to re-price it');
      for (const id of resting) await deps.broker.cancelForKill(id);
      await this.untilEnded(deps, resting, settings.followMs);
      if (resting.some((id) => !ended(deps, id))) {
        // A cancel not confirmed: another order now could close the position twice.
        this.opts.log.error({ resting }, 'flatten: a closing order could not be cancelled; not placing another');
        remaining = (await read()).remaining;
        break;
      }
    }
    return this.finish({ rounds: settings.maxReprices + 1, orders, flat: false, remaining });
  }

  /** The unfinished-flatten gauge per venue: what a flatten left open (0 once flat). */
  private finish(report: FlattenReport): FlattenReport {
    for (const v of this.opts.venues) metrics.flattenUnfinished.set({ venue: v.venue }, report.remaining.filter((r) => r.venue === v.venue).length);
    return report;
  }

  /** Waits (on the Clock) until the closing orders are filled, cancelled or rejected, at most `ms`. */
  private async untilEnded(deps: ArmedDeps, ids: readonly string[], ms: number): Promise<void> {
    const deadline = this.opts.clock.now() + ms;
    while (this.opts.clock.now() < deadline) {
      if (ids.every((id) => ended(deps, id))) return;
      await this.opts.clock.sleep(50);
    }
  }
}

type Round = { plan: FlattenOrder[]; remaining: FlattenReport['remaining'] };

function ended(deps: ArmedDeps, intentId: string): boolean {
  const r = deps.broker.book.get(intentId);
  return !r || isTerminal(r.state);
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
