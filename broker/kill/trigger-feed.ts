import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from '../../actors/clock.ts';
import { subscribeParsed } from '../../actors/bus.ts';
import { subjects } from '../../actors/subjects.ts';
import { ActorCrashedSchema, BrokerEventSchema, OrderUpdateSchema, type KillScope, type OrderUpdate, type Venue } from '../../actors/messages.ts';
import type { VenueAdapter } from '../venue.ts';
import { TriggerMonitor, describeTrip, raiseFor, type Observation, type Trip, type StrategyTriggerConfig } from './triggers.ts';
import type { Figures } from './levels.ts';
import type { KillTriggers } from '../../config/risk-limits.ts';
import type { RestartIntensity } from '../../config/restart-intensity.ts';

/**
 * Feeds the TriggerMonitor from what the broker sees, and raises the latched level when it
 * trips. Sources: every intent on `orch.intent.*` (counted by subject, so even garbage counts
 * toward a runaway), order updates on `orch.order.>` (reject ratio, fills → P&L), broker events
 * (disconnect/reconnect/reconciled), the adapters' ticks (staleness, marks), and direct calls
 * for what only this process knows (MarginException, its own supervisor's actor crashes, re-auth
 * outcomes); crashes on a strategies host arrive on `orch.supervisor.crashed.<id>`.
 * Automation only raises: a trip is logged with its figures and handed to `raiseFor`.
 */
export type TripRecorder = (trip: Trip) => void;

/** Where P&L figures come from: the broker's projection of the event log, once the broker is up. */
export type PnlSource = {
  pnlOf(strategyId: string): { realized: number; unrealized: number };
  /** Strategies holding a position in `symbol`, whose unrealized P&L moves with its price. */
  holders(symbol: string): string[];
};

export type TriggerFeedOptions = {
  nc: NatsConnection;
  store: { raise(level: Trip['level'], scope: KillScope, reason: string, by: string, figures?: Figures): Promise<unknown> };
  clock: Clock;
  log: Logger;
  global?: KillTriggers;
  strategies: readonly { id: string; killTriggers?: KillTriggers; restart?: RestartIntensity }[];
  adapters: readonly VenueAdapter[];
  /** Called for every trip, before the raise (the event log, tests). */
  onTrip?: TripRecorder;
};

function triggerConfigs(list: TriggerFeedOptions['strategies']): Record<string, StrategyTriggerConfig> {
  const out: Record<string, StrategyTriggerConfig> = {};
  for (const s of list) out[s.id] = { ...(s.killTriggers ? { killTriggers: s.killTriggers } : {}), ...(s.restart ? { restart: s.restart } : {}) };
  return out;
}

/** Outcomes already judged, per intent; bounded so a long day cannot grow it without end. */
const JUDGED_CAP = 10_000;

export class TriggerFeed {
  readonly monitor: TriggerMonitor;
  private readonly subs: Subscription[] = [];
  private readonly judged = new Set<string>();
  private pnl: PnlSource | undefined;
  private recheck: ((venue: Venue) => void) | undefined;

  constructor(private readonly opts: TriggerFeedOptions) {
    this.monitor = new TriggerMonitor({
      clock: opts.clock, strategies: triggerConfigs(opts.strategies), ...(opts.global ? { global: opts.global } : {}),
      onTrip: (t) => this.onTrip(t), recheck: (venue) => this.recheck?.(venue),
    });
  }

  /** After a hot reload: thresholds for the strategies as the registry now has them. */
  setStrategies(strategies: TriggerFeedOptions['strategies']): void {
    this.monitor.setStrategies(triggerConfigs(strategies));
  }

  start(): void {
    const { nc, log } = this.opts;
    const prefix = subjects.intent('x').slice(0, -1);
    const intents = nc.subscribe(subjects.intentAll());
    this.subs.push(intents);
    void (async () => {
      for await (const m of intents) this.monitor.observe({ type: 'intent', strategyId: m.subject.slice(prefix.length) });
    })();
    this.subs.push(subscribeParsed(nc, subjects.orderUpdatesAll(), OrderUpdateSchema, (u) => this.onOrder(u), { log }));
    this.subs.push(subscribeParsed(nc, subjects.brokerEvents(), BrokerEventSchema, (e) => this.monitor.observeBrokerEvent(e), { log }));
    // Crashes in strategies processes of their own (`orch start --role strategies`, any host);
    // the supervisor in this process, if any, reports its own by a direct call. Only supervisors
    // may publish here (supervisor/nats-auth.ts); the subject names the actor, the body must agree.
    this.subs.push(subscribeParsed(nc, subjects.actorCrashedAll(), ActorCrashedSchema, (c, msg) => {
      if (msg.subject !== subjects.actorCrashed(c.actorId)) return log.warn({ subject: msg.subject, actorId: c.actorId }, 'crash report for another actor ignored');
      this.monitor.observe({ type: 'actor_restarted', strategyId: c.actorId });
    }, { log }));
    for (const a of this.opts.adapters) a.on('tick', (t) => this.onTick(a.venue, t.symbol));
  }

  /** Market data for `venue` is (or stops being) expected: staleness counts only while it is. */
  marketData(venue: Venue, active: boolean): void {
    this.monitor.observe({ type: 'md_subscribed', venue, active });
  }

  observe(o: Observation): void {
    this.monitor.observe(o);
  }

  usePnl(source: PnlSource): void {
    this.pnl = source;
  }

  /** How to run another reconciliation when a mismatch needs confirming (the broker, once up). */
  useRecheck(fn: (venue: Venue) => void): void {
    this.recheck = fn;
  }

  rearm(scope: KillScope): void {
    this.monitor.rearm(scope);
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
    this.monitor.stop();
  }

  private onTick(venue: Venue, symbol: string): void {
    this.monitor.observe({ type: 'tick', venue });
    for (const id of this.pnl?.holders(symbol) ?? []) this.observePnl(id);
  }

  private onOrder(u: OrderUpdate): void {
    if (!this.judged.has(u.intentId) && u.state !== 'pending') {
      this.judged.add(u.intentId);
      if (this.judged.size > JUDGED_CAP) this.judged.delete(this.judged.values().next().value!);
      this.monitor.observe({ type: 'order_outcome', strategyId: u.strategyId, outcome: u.state === 'rejected' ? 'rejected' : 'accepted' });
    }
    // The broker folds the fill into its projection before it publishes the update.
    if (u.fill) this.observePnl(u.strategyId);
  }

  private observePnl(strategyId: string): void {
    if (!this.pnl) return;
    const p = this.pnl.pnlOf(strategyId);
    this.monitor.observe({ type: 'pnl', strategyId, realized: p.realized, unrealized: p.unrealized });
  }

  private onTrip(t: Trip): void {
    const scope = t.scope.kind === 'global' ? 'global' : t.scope.strategyId;
    this.opts.log.warn({ trigger: t.trigger, killLevel: t.level, scope, figures: t.figures, ts: t.ts }, `kill trigger tripped: ${describeTrip(t)}`);
    this.opts.onTrip?.(t);
    raiseFor(this.opts.store, t).catch((err) => this.opts.log.error({ err, trigger: t.trigger, scope }, 'kill raise failed'));
  }
}
