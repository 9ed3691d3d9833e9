import type { Clock, TimerHandle } from '../../actors/clock.ts';
import type { BrokerEvent, KillLevel, KillScope, Venue } from '../../actors/messages.ts';
import { scopeLabel, type Figures } from './levels.ts';
import type { KillTriggers } from '../../config/risk-limits.ts';
import { addRestart, intensityExceeded, type RestartIntensity } from '../../config/restart-intensity.ts';
import { assertNever } from '../../actors/assert-never.ts';

/**
 * Automated kill-switch trips. Pure evaluators decide from figures; the TriggerMonitor keeps
 * the little state they need (windows, peaks, timers on the injected Clock) and reports each
 * trip once. It never lowers anything: the caller raises the KillStore with what it reports.
 */
export type TriggerName =
  | 'daily_loss'
  | 'max_drawdown'
  | 'runaway_orders'
  | 'reject_ratio'
  | 'margin'
  | 'restart_intensity'
  | 'stale_data'
  | 'broker_disconnected'
  | 'reauth_failing'
  | 'reconcile_mismatch';

export type Trip = { level: KillLevel; scope: KillScope; trigger: TriggerName; figures: Figures; ts: number };

/** Everything the monitor can be told. Money in minor units, as in RiskLimits. */
export type Observation =
  | { type: 'pnl'; strategyId: string; realized: number; unrealized: number }
  | { type: 'intent'; strategyId: string }
  | { type: 'order_outcome'; strategyId: string; outcome: 'accepted' | 'rejected' }
  | { type: 'margin_exception'; strategyId: string; message?: string }
  | { type: 'actor_restarted'; strategyId: string }
  | { type: 'md_subscribed'; venue: Venue; active: boolean }
  | { type: 'tick'; venue: Venue }
  | { type: 'broker_disconnected'; venue: Venue }
  | { type: 'broker_reconnected'; venue: Venue }
  /** `atMarketOpen`: no valid token when the market opened; trips at once, whatever the count. */
  | { type: 'reauth'; venue: Venue; ok: boolean; atMarketOpen?: boolean }
  | { type: 'reconciled'; venue: Venue; ok: boolean; differences: number };

export const RUNAWAY_WINDOW_MS = 10 * 1000; // the "per 10 s" of maxIntentsPer10s

// ---- pure evaluators: figures in, figures of the breach (or undefined) out ----

export function dailyLossBreach(realized: number, unrealized: number, limit: number | undefined): Figures | undefined {
  const loss = -(realized + unrealized);
  return limit !== undefined && loss >= limit ? { limit, actual: loss, realized, unrealized } : undefined;
}

/** Drawdown from the day's peak of total P&L; the peak starts at 0 (flat at the open). */
export function drawdownBreach(peak: number, total: number, limit: number | undefined): Figures | undefined {
  const dd = Math.max(peak, 0) - total;
  return limit !== undefined && dd >= limit ? { limit, actual: dd, peak: Math.max(peak, 0), total } : undefined;
}

export function runawayBreach(times: readonly number[], now: number, limit: number | undefined): Figures | undefined {
  const count = times.filter((t) => now - t < RUNAWAY_WINDOW_MS).length;
  return limit !== undefined && count > limit ? { limit, actual: count, windowMs: RUNAWAY_WINDOW_MS } : undefined;
}

/** Judged only over a full window, so the first reject of the day is not a 100% ratio. */
export function rejectRatioBreach(outcomes: readonly boolean[], window: number, limit: number | undefined): Figures | undefined {
  if (limit === undefined || outcomes.length < window) return undefined;
  const recent = outcomes.slice(-window);
  const rejected = recent.filter((r) => r).length;
  const ratio = rejected / window;
  return ratio > limit ? { limit, actual: Math.round(ratio * 1000) / 1000, rejected, window } : undefined;
}

export function elapsedBreach(since: number, now: number, limit: number | undefined): Figures | undefined {
  return limit !== undefined && now - since >= limit ? { limit, actual: now - since } : undefined;
}

// ---- the monitor ----

export type StrategyTriggerConfig = { killTriggers?: KillTriggers; restart?: RestartIntensity };

export type TriggerMonitorOptions = {
  clock: Clock;
  /** Global thresholds; per-strategy ones override them field by field. */
  global?: KillTriggers;
  strategies: Readonly<Record<string, StrategyTriggerConfig>>;
  onTrip: (trip: Trip) => void;
  /** Runs another reconciliation of `venue` (to confirm or clear a mismatch). */
  recheck?: (venue: Venue) => void;
};

type StrategyState = { peak: number; intents: number[]; outcomes: boolean[]; restarts: number[] };
type VenueState = {
  subscribed: boolean;
  lastTick: number;
  staleTimer?: TimerHandle;
  downSince?: number;
  downTimer?: TimerHandle;
  reauthFailures: number;
  mismatchSince?: number;
  mismatchDifferences: number;
  mismatchTimer?: TimerHandle;
  /** Checks that found the difference, each at least the recheck interval after the previous one. */
  mismatchChecks: number;
  lastMismatchCheck?: number;
  recheckTimer?: TimerHandle;
};

const DEFAULTS = { rejectWindow: 20, maxReauthFailures: 3, reconcileGraceMs: 0, reconcileConfirmChecks: 2, reconcileRecheckMs: 5_000 } as const;
const GLOBAL: KillScope = { kind: 'global' };

export class TriggerMonitor {
  private readonly perStrategy = new Map<string, StrategyState>();
  private readonly perVenue = new Map<Venue, VenueState>();
  /** `${trigger}|${scope}`: each breach is reported once until the scope is re-armed. */
  private readonly tripped = new Set<string>();

  private strategies: Readonly<Record<string, StrategyTriggerConfig>>;

  constructor(private readonly opts: TriggerMonitorOptions) {
    this.strategies = opts.strategies;
  }

  /** A hot reload changed the registry: thresholds of added or edited strategies apply from now on. */
  setStrategies(strategies: Readonly<Record<string, StrategyTriggerConfig>>): void {
    this.strategies = strategies;
  }

  observe(o: Observation): void {
    const now = this.opts.clock.now();
    switch (o.type) {
      case 'pnl': {
        const s = this.strategy(o.strategyId);
        const t = this.thresholds(o.strategyId);
        const total = o.realized + o.unrealized;
        s.peak = Math.max(s.peak, total);
        this.strategyTrip(o.strategyId, 'daily_loss', dailyLossBreach(o.realized, o.unrealized, t.dailyLoss));
        this.strategyTrip(o.strategyId, 'max_drawdown', drawdownBreach(s.peak, total, t.maxDrawdown));
        return;
      }
      case 'intent': {
        const s = this.strategy(o.strategyId);
        s.intents = [...s.intents.filter((x) => now - x < RUNAWAY_WINDOW_MS), now];
        this.strategyTrip(o.strategyId, 'runaway_orders', runawayBreach(s.intents, now, this.thresholds(o.strategyId).maxIntentsPer10s));
        return;
      }
      case 'order_outcome': {
        const s = this.strategy(o.strategyId);
        const t = this.thresholds(o.strategyId);
        const window = t.rejectWindow ?? DEFAULTS.rejectWindow;
        s.outcomes = [...s.outcomes, o.outcome === 'rejected'].slice(-window);
        this.strategyTrip(o.strategyId, 'reject_ratio', rejectRatioBreach(s.outcomes, window, t.maxRejectRatio));
        return;
      }
      case 'margin_exception':
        this.strategyTrip(o.strategyId, 'margin', { limit: 0, actual: 1, ...(o.message ? { message: o.message } : {}) });
        return;
      case 'actor_restarted': {
        const policy = this.strategies[o.strategyId]?.restart;
        if (!policy) return;
        const s = this.strategy(o.strategyId);
        s.restarts = addRestart(s.restarts, now, policy.withinSeconds * 1000);
        const breach = intensityExceeded(s.restarts, policy)
          ? { limit: policy.maxRestarts, actual: s.restarts.length, withinSeconds: policy.withinSeconds }
          : undefined;
        this.strategyTrip(o.strategyId, 'restart_intensity', breach);
        return;
      }
      case 'md_subscribed': {
        const v = this.venue(o.venue);
        v.subscribed = o.active;
        // Staleness counts from the subscription, not from a tick long ago.
        v.lastTick = now;
        if (o.active) {
          this.armStale(o.venue);
        } else {
          this.opts.clock.clearTimeout(v.staleTimer);
          v.staleTimer = undefined;
        }
        return;
      }
      case 'tick':
        this.venue(o.venue).lastTick = now;
        return;
      case 'broker_disconnected': {
        const v = this.venue(o.venue);
        if (v.downSince !== undefined) return;
        v.downSince = now;
        const limit = this.opts.global?.maxDisconnectedMs;
        if (limit !== undefined) v.downTimer = this.opts.clock.setTimeout(() => this.checkDown(o.venue), limit);
        return;
      }
      case 'broker_reconnected': {
        const v = this.venue(o.venue);
        this.opts.clock.clearTimeout(v.downTimer);
        v.downTimer = undefined;
        v.downSince = undefined;
        return;
      }
      case 'reauth': {
        const v = this.venue(o.venue);
        v.reauthFailures = o.ok ? 0 : v.reauthFailures + 1;
        const limit = this.opts.global?.maxReauthFailures ?? DEFAULTS.maxReauthFailures;
        if (v.reauthFailures >= limit || (!o.ok && o.atMarketOpen)) this.trip(3, GLOBAL, 'reauth_failing', { limit, actual: v.reauthFailures, venue: o.venue });
        return;
      }
      case 'reconciled':
        this.onReconciled(o.venue, o.ok, o.differences, now);
        return;
      default:
        assertNever(o);
    }
  }

  /** Feeds the broker's own events (`orch.broker.events`) straight in. */
  observeBrokerEvent(e: BrokerEvent): void {
    switch (e.type) {
      case 'BrokerReady':
        return;
      case 'BrokerDisconnected':
        return this.observe({ type: 'broker_disconnected', venue: e.venue });
      case 'BrokerReconnected':
        return this.observe({ type: 'broker_reconnected', venue: e.venue });
      case 'Reconciled':
        // A run that failed to run compared nothing: neither a mismatch nor the end of one.
        // It has its own metric and alert (orch_reconcile_failing, OrchReconcileFailing).
        if (e.result === 'error') return;
        return this.observe({ type: 'reconciled', venue: e.venue, ok: e.ok, differences: e.differences });
      default:
        assertNever(e);
    }
  }

  /** The day's peak of a strategy's total P&L (minor units; 0 until it has been above flat). */
  peakOf(strategyId: string): number {
    return this.perStrategy.get(strategyId)?.peak ?? 0;
  }

  /** The thresholds in force for a strategy: the global ones, overridden by its own. */
  thresholdsOf(strategyId: string): Partial<KillTriggers> {
    return this.thresholds(strategyId);
  }

  /** After an operator reset of `scope`, its triggers may trip again. */
  rearm(scope: KillScope): void {
    const label = scopeLabel(scope);
    for (const k of [...this.tripped]) if (k.endsWith(`|${label}`)) this.tripped.delete(k);
    if (scope.kind === 'strategy') this.perStrategy.delete(scope.strategyId);
    // The stale-data timer stops at its trip; watching resumes with the re-armed scope.
    else for (const venue of this.perVenue.keys()) this.armStale(venue);
  }

  /** Cancels every timer (on shutdown). */
  stop(): void {
    for (const v of this.perVenue.values()) {
      this.opts.clock.clearTimeout(v.staleTimer);
      this.opts.clock.clearTimeout(v.downTimer);
      this.opts.clock.clearTimeout(v.mismatchTimer);
      this.opts.clock.clearTimeout(v.recheckTimer);
    }
  }

  /**
   * A mismatch latches level 2 only when it persists: found by `reconcileConfirmChecks` checks
   * at least `reconcileRecheckMs` apart (another is asked for after each), and unresolved for
   * `reconcileGraceMs`. A clean check ends it; a difference seen once (a fill in flight) never trips.
   */
  private onReconciled(venue: Venue, ok: boolean, differences: number, now: number): void {
    const v = this.venue(venue);
    const clock = this.opts.clock;
    if (ok) {
      clock.clearTimeout(v.mismatchTimer);
      clock.clearTimeout(v.recheckTimer);
      v.mismatchTimer = v.recheckTimer = undefined;
      v.mismatchSince = v.lastMismatchCheck = undefined;
      v.mismatchChecks = 0;
      return;
    }
    v.mismatchDifferences = differences;
    const recheckMs = this.opts.global?.reconcileRecheckMs ?? DEFAULTS.reconcileRecheckMs;
    if (v.lastMismatchCheck === undefined || now - v.lastMismatchCheck >= recheckMs) {
      v.mismatchChecks++;
      v.lastMismatchCheck = now;
    }
    if (v.mismatchSince === undefined) v.mismatchSince = now;
    this.checkMismatch(venue);
    // Not confirmed yet: look again, rather than wait for the next periodic run.
    if (this.opts.recheck && !v.recheckTimer && v.mismatchChecks < this.confirmChecks()) {
      v.recheckTimer = clock.setTimeout(() => {
        v.recheckTimer = undefined;
        this.opts.recheck?.(venue);
      }, recheckMs);
    }
  }

  private confirmChecks(): number {
    return this.opts.global?.reconcileConfirmChecks ?? DEFAULTS.reconcileConfirmChecks;
  }

  private checkMismatch(venue: Venue): void {
    const v = this.venue(venue);
    this.opts.clock.clearTimeout(v.mismatchTimer);
    v.mismatchTimer = undefined;
    if (v.mismatchSince === undefined || v.mismatchChecks < this.confirmChecks()) return;
    const grace = this.opts.global?.reconcileGraceMs ?? DEFAULTS.reconcileGraceMs;
    const breach = elapsedBreach(v.mismatchSince, this.opts.clock.now(), grace);
    // The figures name the checks that saw it (the reason reads "2 against limit 2").
    if (breach) this.trip(2, GLOBAL, 'reconcile_mismatch', { limit: this.confirmChecks(), actual: v.mismatchChecks, graceMs: grace, elapsedMs: breach.actual ?? 0, differences: v.mismatchDifferences, venue });
    else if (!v.mismatchTimer) v.mismatchTimer = this.opts.clock.setTimeout(() => this.checkMismatch(venue), Math.max(0, v.mismatchSince + grace - this.opts.clock.now()));
  }

  private checkDown(venue: Venue): void {
    const v = this.venue(venue);
    v.downTimer = undefined;
    if (v.downSince === undefined) return;
    const breach = elapsedBreach(v.downSince, this.opts.clock.now(), this.opts.global?.maxDisconnectedMs);
    if (breach) this.trip(3, GLOBAL, 'broker_disconnected', { ...breach, venue });
  }

  /** One timer per venue, re-armed only when it fires: ticks themselves cost no timer work. */
  private armStale(venue: Venue): void {
    const v = this.venue(venue);
    const limit = this.opts.global?.staleDataMs;
    if (limit === undefined || !v.subscribed || v.staleTimer) return;
    const due = v.lastTick + limit - this.opts.clock.now();
    v.staleTimer = this.opts.clock.setTimeout(() => {
      v.staleTimer = undefined;
      if (!v.subscribed) return;
      const breach = elapsedBreach(v.lastTick, this.opts.clock.now(), limit);
      if (breach) this.trip(3, GLOBAL, 'stale_data', { ...breach, venue });
      else this.armStale(venue);
    }, Math.max(0, due));
  }

  private thresholds(strategyId: string): Partial<KillTriggers> {
    return { ...this.opts.global, ...this.strategies[strategyId]?.killTriggers };
  }

  private strategy(id: string): StrategyState {
    let s = this.perStrategy.get(id);
    if (!s) this.perStrategy.set(id, (s = { peak: 0, intents: [], outcomes: [], restarts: [] }));
    return s;
  }

  private venue(venue: Venue): VenueState {
    let v = this.perVenue.get(venue);
    if (!v) this.perVenue.set(venue, (v = { subscribed: false, lastTick: this.opts.clock.now(), reauthFailures: 0, mismatchDifferences: 0, mismatchChecks: 0 }));
    return v;
  }

  private strategyTrip(strategyId: string, trigger: TriggerName, breach: Figures | undefined): void {
    if (breach) this.trip(1, { kind: 'strategy', strategyId }, trigger, breach);
  }

  private trip(level: KillLevel, scope: KillScope, trigger: TriggerName, figures: Figures): void {
    const key = `${trigger}|${scopeLabel(scope)}`;
    if (this.tripped.has(key)) return;
    this.tripped.add(key);
    this.opts.onTrip({ level, scope, trigger, figures, ts: this.opts.clock.now() });
  }
}

/** The reason text stored with the raised level and shown to the operator. */
export function describeTrip(t: Trip): string {
  const f = t.figures;
  return `${t.trigger.replace(/_/g, ' ')}: ${f.actual ?? '?'} against limit ${f.limit ?? '?'}${t.scope.kind === 'strategy' ? ` (strategy ${t.scope.strategyId})` : ''}`;
}

/** What the broker does with a trip: raise the latched level; the store ignores a lower one. */
export function raiseFor(store: { raise(level: KillLevel, scope: KillScope, reason: string, by: string, figures?: Figures): Promise<unknown> }, t: Trip): Promise<unknown> {
  return store.raise(t.level, t.scope, describeTrip(t), `automation:${t.trigger}`, t.figures);
}
