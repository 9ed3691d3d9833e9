/**
 * One backtest: the registry's strategies, unchanged, fed the data's ticks in time order on a
 * virtual clock, their intents judged by the live pre-trade rules and matched by the built-in
 * exchanges' engines, their fills charged the venue's costs. Same data, registry and seed: the
 * same orders and fills, and so the same hash.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pino, type Logger } from 'pino';
import type { Tick } from '../actors/messages.ts';
import type { Venue } from '../actors/messages.ts';
import { systemClock, type Clock } from '../actors/clock.ts';
import type { StrategyModule } from '../strategies/sdk.ts';
import type { StrategySpec } from '../config/registry.ts';
import type { KillTriggers } from '../config/risk-limits.ts';
import { TriggerMonitor, describeTrip, type Trip } from '../broker/kill/triggers.ts';
import { BacktestBroker, type RecordLine } from './broker.ts';
import { BacktestStrategy } from './context.ts';
import { DEFAULT_COSTS, MONEY_UNIT, kalshiFillFee, kiteFillCharges, type Costs } from './costs.ts';
import { KalshiSimVenue } from './kalshi-venue.ts';
import { KiteSimVenue } from './kite-venue.ts';
import { Ledger, type EquityPoint } from './ledger.ts';
import type { SimVenue } from './venue.ts';
import { VirtualClock } from './virtual-clock.ts';

export type BacktestStrategyInput = { spec: StrategySpec; module: StrategyModule };

export type Progress = { ts: number; ticks: number; elapsedMs: number; from: number; to: number };

export type BacktestOptions = {
  strategies: readonly BacktestStrategyInput[];
  /** Time-ordered ticks (store.ts mergeByTime); a tick older than the clock is applied at the clock's time. */
  ticks: AsyncIterable<Tick> | Iterable<Tick>;
  /** The data's range (ms), for the progress bar and the curve's sampling. */
  from: number;
  to: number;
  seed: number;
  costs?: Costs;
  /** `max`: as fast as it goes; N: N times real time (a day of data in a day / N). */
  speed?: 'max' | number;
  /** The strategies' logger (default silent). */
  log?: Logger;
  onProgress?: (p: Progress) => void;
  /** Wall clock for `speed` (tests inject one). */
  wallClock?: Clock;
  /** The registry's global kill triggers (each strategy's own override them, as live). */
  killTriggers?: KillTriggers;
};

/** A kill trigger that tripped for a strategy: from then on it places and modifies nothing. */
export type KillSummary = { level: number; trigger: string; reason: string; ts: number; figures: Trip['figures'] };

export type StrategySummary = {
  id: string;
  venue: Venue;
  moneyUnit: string;
  orders: number;
  accepted: number;
  denied: number;
  deniedByRule: Record<string, number>;
  fills: number;
  filledQty: number;
  /** Equity at the end: cash + marked positions, costs included. */
  pnl: number;
  costs: number;
  grossPnl: number;
  maxDrawdown: number;
  exposure: { max: number; average: number };
  positions: Record<string, number>;
  ticks: number;
  crashed?: string;
  /** Halted by a kill trigger (the first that tripped for it, or a global one). */
  killed?: KillSummary;
};

export type BacktestResult = {
  hash: string;
  seed: number;
  from: number;
  to: number;
  ticks: number;
  firstTs?: number;
  lastTs?: number;
  strategies: StrategySummary[];
  curves: Record<string, EquityPoint[]>;
  record: RecordLine[];
};

/** Points on each equity curve at most (plus one per fill). */
const CURVE_POINTS = 1_000;
const PROGRESS_EVERY = 4_096;

export async function runBacktest(o: BacktestOptions): Promise<BacktestResult> {
  const costs = o.costs ?? DEFAULT_COSTS;
  const log = o.log ?? pino({ level: 'silent' });
  const clock = new VirtualClock(o.from);
  const specs = new Map(o.strategies.map((s) => [s.spec.id, s.spec]));
  const symbolsOf = (v: Venue) => [...new Set(o.strategies.filter((s) => s.spec.venue === v).flatMap((s) => s.spec.instruments))];
  const venues = new Map<Venue, SimVenue>();
  if (symbolsOf('kite').length > 0) venues.set('kite', new KiteSimVenue(clock, o.seed, symbolsOf('kite')));
  if (symbolsOf('kalshi').length > 0) venues.set('kalshi', new KalshiSimVenue(clock, o.seed, symbolsOf('kalshi')));

  const ledgers = new Map<string, Ledger>();
  const sampleEvery = Math.max(1, Math.floor((o.to - o.from) / CURVE_POINTS));
  for (const s of o.strategies) ledgers.set(s.spec.id, new Ledger(sampleEvery));
  const brokerage = new Map<string, number>();
  // Set once the strategies exist; the fill sink below reads it.
  let triggers: BacktestTriggers | undefined;
  const broker = new BacktestBroker(clock, specs, venues, (strategyId, f) => {
    let cost: number;
    if (f.venue === 'kite') {
      const c = kiteFillCharges(costs.kite, f.side, f.qty, f.price, brokerage.get(f.intentId) ?? 0);
      brokerage.set(f.intentId, (brokerage.get(f.intentId) ?? 0) + c.brokerage);
      cost = c.total;
    } else {
      cost = kalshiFillFee(costs.kalshi, f.qty, f.price, f.isTaker);
    }
    const l = ledgers.get(strategyId)!;
    l.fill(f.ts, f.symbol, f.side, f.qty, f.price, cost);
    triggers?.pnl(strategyId, l);
  });

  const actors = o.strategies.map((s) => new BacktestStrategy(s.spec, s.module, clock, log, (i) => broker.handle(i)));
  /** Per venue, per symbol, the strategies that trade it (looked up on every tick, so no key is built). */
  const byInstrument = new Map<Venue, Map<string, BacktestStrategy[]>>();
  for (const a of actors) {
    broker.subscribe(a.spec.id, (u) => a.orderUpdate(u));
    let bySymbol = byInstrument.get(a.spec.venue);
    if (!bySymbol) byInstrument.set(a.spec.venue, (bySymbol = new Map()));
    for (const sym of a.spec.instruments) bySymbol.set(sym, [...(bySymbol.get(sym) ?? []), a]);
  }
  const ledgerList = o.strategies.map((s) => ledgers.get(s.spec.id)!);
  const kills = new Map<string, KillSummary>();
  triggers = killTriggers(o, clock, broker, actors, kills);
  /** Every strategy's queued callbacks run; a promise only when one of them is asynchronous. */
  const drainAll = (): Promise<void> | undefined => {
    for (let i = 0; i < actors.length; i++) {
      const a = actors[i]!;
      if (a.crashed || !a.busy) continue;
      const p = a.drain();
      // A strategy's callbacks can only queue work for itself; the rest still wait their turn.
      if (p) return p.then(() => drainAll());
    }
    return undefined;
  };

  for (const a of actors) a.start();
  await drainAll();

  const wall = o.wallClock ?? systemClock;
  const started = performance.now();
  const wallStart = wall.now();
  let n = 0;
  let firstTs: number | undefined;
  let lastTs: number | undefined;
  for await (const t of o.ticks as AsyncIterable<Tick>) {
    n++;
    firstTs ??= t.ts;
    lastTs = t.ts;
    clock.advanceTo(t.ts);
    broker.setLastPrice(t.venue, t.symbol, t.last);
    venues.get(t.venue)?.onTick(t);
    for (let i = 0; i < ledgerList.length; i++) {
      const l = ledgerList[i]!;
      if (!l.holds(t.symbol)) continue;
      l.mark(clock.now(), t.symbol, t.last);
      triggers?.pnl(actors[i]!.spec.id, l);
    }
    const subs = byInstrument.get(t.venue)?.get(t.symbol);
    if (subs) for (const a of subs) a.tick(t);
    const pending = drainAll();
    if (pending) await pending;
    if (o.speed !== undefined && o.speed !== 'max') {
      const due = wallStart + (t.ts - firstTs) / o.speed;
      const ahead = due - wall.now();
      if (ahead > 1) await wall.sleep(ahead);
    }
    if (o.onProgress && n % PROGRESS_EVERY === 0) o.onProgress({ ts: t.ts, ticks: n, elapsedMs: performance.now() - started, from: o.from, to: o.to });
  }
  await drainAll();
  for (const a of actors) await a.stop();
  await drainAll();
  o.onProgress?.({ ts: lastTs ?? o.to, ticks: n, elapsedMs: performance.now() - started, from: o.from, to: o.to });

  const end = lastTs ?? o.from;
  triggers?.monitor.stop();
  const summaries: StrategySummary[] = actors.map((a) => summarize(a, ledgers.get(a.spec.id)!, broker.record, end, kills.get(a.spec.id)));
  const curves: Record<string, EquityPoint[]> = {};
  for (const [id, l] of ledgers) curves[id] = l.curve;
  return {
    hash: hashRecord(broker.record), seed: o.seed, from: o.from, to: o.to, ticks: n,
    ...(firstTs !== undefined ? { firstTs } : {}), ...(lastTs !== undefined ? { lastTs } : {}),
    strategies: summaries, curves, record: broker.record,
  };
}

function summarize(a: BacktestStrategy, l: Ledger, record: RecordLine[], end: number, killed: KillSummary | undefined): StrategySummary {
  l.close(end);
  let orders = 0;
  let accepted = 0;
  let denied = 0;
  const deniedByRule: Record<string, number> = {};
  for (const r of record) {
    if (r.kind !== 'decision' || r.strategyId !== a.spec.id || r.intent.action !== 'place') continue;
    orders++;
    if (r.reply.status === 'accepted') accepted++;
    else {
      denied++;
      deniedByRule[r.reply.rule] = (deniedByRule[r.reply.rule] ?? 0) + 1;
    }
  }
  return {
    id: a.spec.id, venue: a.spec.venue, moneyUnit: MONEY_UNIT[a.spec.venue], orders, accepted, denied, deniedByRule,
    fills: l.fills, filledQty: l.filledQty, pnl: l.equity, costs: l.costs, grossPnl: l.equity + l.costs, maxDrawdown: l.maxDrawdown,
    exposure: { max: l.maxExposure, average: l.averageExposure() }, positions: l.positions(), ticks: a.ticks,
    ...(a.crashed ? { crashed: a.crashed.message } : {}),
    ...(killed ? { killed } : {}),
  };
}

type BacktestTriggers = { monitor: TriggerMonitor; pnl(strategyId: string, l: Ledger): void };

/**
 * The live kill triggers that mean something on past data, fed as the live trigger feed feeds
 * them (broker/kill/trigger-feed.ts): P&L at every fill and every price of a held instrument
 * (daily loss, drawdown), every intent that reaches the broker (runaway orders), each order's
 * first state past pending (reject ratio). A trip raises the level in the backtest broker, which
 * then judges the strategy's intents by it as the live broker does, and closes the strategy's
 * kill gate, as its supervisor would: the session refuses its places and modifies. The
 * triggers about the running system (stale data, a disconnected or unauthenticated venue,
 * reconciliation, restarts) have nothing to observe in a backtest. None configured: nothing is fed.
 */
function killTriggers(o: BacktestOptions, clock: VirtualClock, broker: BacktestBroker, actors: readonly BacktestStrategy[], kills: Map<string, KillSummary>): BacktestTriggers | undefined {
  const strategies = Object.fromEntries(o.strategies.map((s) => [s.spec.id, s.spec.killTriggers ? { killTriggers: s.spec.killTriggers } : {}]));
  if (!o.killTriggers && !o.strategies.some((s) => s.spec.killTriggers)) return undefined;
  const onTrip = (t: Trip) => {
    const reason = describeTrip(t);
    const revision = broker.raise(t.level, t.scope, reason, `automation:${t.trigger}`, t.figures);
    if (revision === undefined) return;
    for (const a of actors) {
      if (!a.gate.apply({ level: t.level, scope: t.scope, revision }, a.spec.id)) continue;
      if (!kills.has(a.spec.id)) kills.set(a.spec.id, { level: t.level, trigger: t.trigger, reason, ts: t.ts, figures: t.figures });
    }
  };
  const monitor = new TriggerMonitor({ clock, strategies, ...(o.killTriggers ? { global: o.killTriggers } : {}), onTrip });
  const judged = new Set<string>();
  broker.onIntent = (strategyId) => monitor.observe({ type: 'intent', strategyId });
  broker.onUpdate = (u) => {
    if (u.state === 'pending' || judged.has(u.intentId)) return;
    judged.add(u.intentId);
    monitor.observe({ type: 'order_outcome', strategyId: u.strategyId, outcome: u.state === 'rejected' ? 'rejected' : 'accepted' });
  };
  return {
    monitor,
    // The live figure is gross of costs (the broker's projection knows no charges): the sum of cash and marked positions before costs.
    pnl: (strategyId, l) => monitor.observe({ type: 'pnl', strategyId, realized: l.cash + l.costs, unrealized: l.marketValue }),
  };
}

/** SHA-256 over the run's decisions and fills, one JSON line each, in the order they happened. */
export function hashRecord(record: readonly RecordLine[]): string {
  const h = createHash('sha256');
  for (const r of record) h.update(`${JSON.stringify(r)}\n`);
  return h.digest('hex');
}
