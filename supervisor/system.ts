import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../actors/clock.ts';
import { enableDefaultMetrics, metrics } from '../actors/metrics.ts';
import { actorLogger } from '../actors/logger.ts';
import { Teardown } from '../actors/teardown.ts';
import { seedProcess, seedStrategy } from '../actors/metric-series.ts';
import { followRegistryMetrics } from './registry-metrics.ts';
import type { LoadedConfig } from '../config/registry.ts';
import type { BrokerActor } from '../broker/broker-actor.ts';
import { LogEventSchema } from '../broker/events/schema.ts';
import type { KillStore } from '../broker/kill/kill-store.ts';
import { projectionPnl, type KillSwitch } from '../broker/kill/kill-switch.ts';
import { exportStrategyRisk } from '../broker/kill/risk-metrics.ts';
import type { KiteSim } from '../exchanges/kite/index.ts';
import type { KalshiSim } from '../exchanges/kalshi/index.ts';
import type { SummarySource } from './console-summary.ts';
import { configErrorFrom, deepFreeze } from './config.ts';
import { startHealthEndpoint } from './health.ts';
import { lookupFromAdapters, unknownInstrument } from './instrument-check.ts';
import { loadMarketHolidays, nseMarketOpen, NO_HOLIDAYS } from './market-calendar.ts';
import { followMarketHours } from './market-hours.ts';
import { SUPERVISOR, type Credentials, type NatsAuth } from './nats-auth.ts';
import { Reloader, probeInWorker, startingPoint, type ReloadTargets } from './reload.ts';
import { placementOf } from './placement.ts';
import { startServices } from './services.ts';
import { strategyCredentials } from './strategy-credentials.ts';
import type { Supervisor } from './supervisor.ts';
import { startStrategySupervisor } from './strategy-supervisor.ts';
import { startSystemBroker } from './system-broker.ts';
import { startSystemNats, type SystemNats } from './system-nats.ts';
import type { SystemOptions } from './system-options.ts';

export type { SystemOptions };

export type System = {
  config: LoadedConfig;
  natsUrl: string;
  sim: KiteSim | undefined;
  /** Where Kite postbacks are received, when the endpoint runs. */
  kitePostbackUrl: string | undefined;
  kalshiSim: KalshiSim | undefined;
  broker: BrokerActor;
  supervisor: Supervisor;
  killStore: KillStore;
  killSwitch: KillSwitch;
  /** The generated users, when the server enforces permissions. */
  natsAuth: NatsAuth | undefined;
  /** Each strategy's own user (a strategy added while running gets one on this process's server), when the server enforces permissions. */
  strategyCredentials: ((spec: { id: string }) => Promise<Credentials>) | undefined;
  reloader: Reloader;
  metricsUrl: string | undefined;
  /** What the console summary is made of (supervisor/console-summary.ts); still answers after stop. */
  summarySource(): SummarySource;
  /** Called when this broker loses its lease (it is fenced: it never writes to a venue again). */
  onFenced(fn: (reason: string) => void): void;
  stop(): Promise<void>;
};

/**
 * Starts the whole system in dependency order: NATS, the exchange (paper) or the account
 * (live), the broker actor, then the strategies. `stop` undoes it in reverse.
 */
export async function startSystem(o: SystemOptions): Promise<System> {
  const clock = o.clock ?? systemClock;
  const stateDir = o.stateDir ?? join(process.cwd(), '.orch');
  // Each step bounded (actors/teardown.ts): a stop must end even with NATS already gone.
  const undo = new Teardown(o.log);
  try {
    // Refuse a bad registry before anything starts. Loaded in a worker under a deadline and the
    // registry's memory limit: a module that loops or allocates without end while loading is
    // refused by name instead of hanging (or swelling) this process.
    const probe = probeInWorker(o.moduleLoadTimeoutMs !== undefined ? { timeoutMs: o.moduleLoadTimeoutMs } : {});
    const probed = await probe(resolve(o.configFile));
    if (!probed.ok) throw configErrorFrom(probed.error);
    const config = deepFreeze(probed.config);
    // And a bad holiday calendar: a holiday taken for a trading day trips the stale-data trigger.
    const holidaysFile = o.holidaysFile ?? join(dirname(resolve(o.configFile)), 'market-holidays.yaml');
    const holidays = await loadMarketHolidays(holidaysFile);
    const marketOpen = nseMarketOpen(holidays ?? NO_HOLIDAYS);
    enableDefaultMetrics();
    // Every series whose labels are known now starts at 0 (actors/metric-series.ts).
    seedProcess(metrics, LogEventSchema.options.map((opt) => opt.shape.kind.value));
    for (const st of config.strategies) seedStrategy(metrics, st);

    const nats = await startSystemNats({ ...o, stateDir, undo, strategyIds: config.strategies.map((s) => s.id) });
    const { natsUrl, natsAuth, control } = nats;
    const started = await startSystemBroker(o, { config, nats, clock, stateDir, undo, marketOpen });
    const { broker, adapters, limiter, killStore, kite, kalshi } = started;
    const killSwitch = started.killSwitch!;

    // One source for the supervisor here and the restricted strategies process orch start runs beside it.
    const strategyCreds = natsAuth ? strategyCredentials(natsAuth, nats.authOptions, nats.nats, clock) : undefined;
    const supervisor = await startSupervisor(o, { nats, killStore, killSwitch, clock, undo, strategyCreds });
    const brokerOnly = o.role === 'broker';
    // The strategies the broker answers for (orch flatten --strategy, level 4's bookings, the risk
    // gauges the loss alerts read): those its supervisor runs, or, with the strategies in other
    // processes (role broker, and orch start's strategies process), the registry's enabled ones.
    let registry = config;
    const running = brokerOnly ? () => registry.strategies.filter((s) => s.enabled) : () => supervisor.ids().flatMap((id) => supervisor.spec(id) ?? []);
    const pnl = projectionPnl(broker);
    killSwitch.arm({ broker, pnl, strategies: running, stopActors: () => supervisor.stopAll() });
    const monitor = killSwitch.triggers.monitor;
    const unexportRisk = exportStrategyRisk({ metrics, pnl, strategies: running, thresholds: (id) => monitor.thresholdsOf(id), peakOf: (id) => monitor.peakOf(id) });
    undo.push(async () => unexportRisk());
    undo.push(followMarketHours({
      clock, log: o.log, triggers: killSwitch.triggers, marketOpen, holidays, holidaysFile,
      kiteHoursOnly: kite.account.marketHoursOnly, tradesKite: config.strategies.some((st) => st.venue === 'kite'), kalshiRuns: kalshi !== undefined,
    }));
    // What the strategies start from, so the watch (begun later) cannot miss an edit made meanwhile.
    const startedFrom = await startingPoint(config);
    // An instrument the venue does not list is refused with its line, before any strategy starts
    // (here or in a strategies process: the broker is the one that knows the venues' lists).
    const unknown = await unknownInstrument(config, lookupFromAdapters(adapters));
    if (unknown) throw unknown;
    // Level 4 latched: the actors stay down until the operator resets it and the processes restart.
    if (brokerOnly) o.log.info('role broker: the strategies run in processes of their own (orch start starts one beside it; --role strategies on other hosts)');
    else if (killSwitch.state.global.level === 4) o.log.error({ reason: killSwitch.state.global.reason }, 'kill level 4 (FLATTEN) is latched: strategies not started; reset it (orch reset) and restart');
    else await supervisor.startAll(config.strategies);

    // Set once /metrics runs: drops a removed strategy's last snapshot from its worker thread.
    let forgetActorMetrics: ((id: string) => void) | undefined;
    const reloader = new Reloader({
      // The broker alone follows the registry (which strategies may trade, their limits, removed
      // ones' orders cancelled); the strategies' hosts start and stop their own.
      config, supervisor: brokerOnly ? NO_LOCAL_STRATEGIES : supervisor, broker, clock, log: actorLogger(o.log, 'reload'), venues: new Set(adapters.map((a) => a.venue)), probe,
      knows: lookupFromAdapters(adapters),
      // Kill-trigger thresholds follow the registry, so an added strategy is guarded from its first order.
      onApplied: (next, previous) => {
        registry = next;
        killSwitch.triggers.setStrategies(next.strategies);
        followRegistryMetrics(next, previous, (id) => forgetActorMetrics?.(id), o.log);
      },
    });
    await reloader.init(startedFrom);
    if (o.hotReload !== false) reloader.watch();
    // Before the supervisor stops, so no reload starts a strategy during shutdown.
    undo.push(() => reloader.close());

    // `nats micro ls` shows both; `orch status` reads their status endpoints.
    const services = await startServices(control, {
      broker: { broker, adapters, limiter, kill: killStore, clock, flatten: () => killSwitch.controller.lastFlatten },
      ...(brokerOnly ? {} : { supervisor: { supervisor, reloader, clock, placement: placementOf(undefined) } }),
      log: actorLogger(o.log, 'services'),
    });
    undo.push(() => services.stop());
    // A broker that lost its lease leaves the broker service's queue group: `orch status` must not
    // hear its stale positions in place of the new leader's.
    started.onFenced(() => void services.broker?.stop().catch(() => undefined));
    const health = o.metricsPort === false ? undefined : await startHealthEndpoint({ nc: control, clock, log: actorLogger(o.log, 'metrics'), host: o.metricsHost ?? '127.0.0.1', port: o.metricsPort ?? 9464, adapters, supervisor });
    if (health) undo.push(() => health.stop());
    forgetActorMetrics = health?.forget;
    const summarySource = (): SummarySource => ({
      projection: broker.projection,
      lastPrice: (venue, symbol) => broker.lastPrice(venue, symbol),
      strategies: reloader.current().strategies.filter((s) => s.enabled || supervisor.status(s.id) !== undefined)
        .map((s) => ({ id: s.id, venue: s.venue, status: supervisor.status(s.id) ?? 'not started' })),
      kill: killStore.current(),
    });
    return { config, natsUrl, sim: kite.sim, kitePostbackUrl: kite.postbackUrl, kalshiSim: kalshi?.sim, broker, supervisor, killStore, killSwitch, natsAuth, strategyCredentials: strategyCreds, reloader, metricsUrl: health?.metricsUrl, summarySource, onFenced: started.onFenced, stop: () => undo.run() };
  } catch (e) {
    await undo.run();
    throw e;
  }
}

/** The supervisor side of a reload on a broker-only process: no strategy runs here. */
const NO_LOCAL_STRATEGIES: ReloadTargets['supervisor'] = { startChild: async () => undefined, stopChild: async () => undefined, removeChild: async () => undefined };

/** The strategy supervisor (supervisor/strategy-supervisor.ts), each strategy with its own NATS user. */
async function startSupervisor(o: SystemOptions, x: { nats: SystemNats; killStore: KillStore; killSwitch: KillSwitch; clock: Clock; undo: Teardown; strategyCreds: ((spec: { id: string }) => Promise<Credentials>) | undefined }): Promise<Supervisor> {
  const { natsUrl, natsAuth } = x.nats;
  const strategyCreds = x.strategyCreds;
  const creds = natsAuth?.credentials(SUPERVISOR);
  return startStrategySupervisor({
    natsUrl, killStore: x.killStore, clock: x.clock, log: o.log, undo: x.undo,
    ...(creds ? { supervisorCreds: creds } : {}),
    ...(o.logLevel ? { logLevel: o.logLevel } : {}),
    ...(o.logFormat ? { logFormat: o.logFormat } : {}),
    ...(o.logColor ? { logColor: true } : {}),
    // Each crash is counted by the restart-intensity trigger, which halts the strategy (level 1)
    // at the count the supervisor gives up at.
    onCrash: (id) => x.killSwitch.triggers.observe({ type: 'actor_restarted', strategyId: id }),
    ...(strategyCreds ? { credentials: strategyCreds } : {}),
  });
}
