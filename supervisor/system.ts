import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../actors/clock.ts';
import { registry, enableDefaultMetrics, metrics } from '../actors/metrics.ts';
import { actorLogger, type LogFormat } from '../actors/logger.ts';
import type { SummarySource } from './console-summary.ts';
import { connectBus } from '../actors/bus.ts';
import { KillRelay } from './kill-relay.ts';
import { LogEventSchema } from '../broker/events/schema.ts';
import type { KillStore } from '../broker/kill/kill-store.ts';
import { startBroker } from '../broker/start.ts';
import type { BrokerActor } from '../broker/broker-actor.ts';
import { Teardown } from '../actors/teardown.ts';
import { effectiveLevel } from '../broker/kill/levels.ts';
import { kiteLimits, kalshiLimits, mergeLimits } from '../broker/limiter/limits.ts';
import type { KiteSim, KiteSimOptions } from '../exchanges/kite/index.ts';
import type { KalshiSim } from '../exchanges/kalshi/index.ts';
import { lookupFromAdapters, unknownInstrument } from './instrument-check.ts';
import { buildKalshiVenue, type KalshiAccount, type KalshiVenueBuild } from './venues/kalshi.ts';
import { loadMarketHolidays, nseMarketOpen, NO_HOLIDAYS } from './market-calendar.ts';
import { buildKiteVenue, kiteLimitSettings, type KiteAccount, type KiteEnv, type KiteVenue } from './venues/kite.ts';
import { launchNatsServer, natsPidFile, type NatsProcess } from './nats-launcher.ts';
import { configErrorFrom, deepFreeze } from './config.ts';
import { Supervisor } from './supervisor.ts';
import { startHttp } from './http.ts';
import { Reloader, probeInWorker, type ReloadTargets } from './reload.ts';
import { placementOf, type Role } from './placement.ts';
import { MetricsAggregator } from './metrics-aggregator.ts';
import { startServices } from './services.ts';
import { monitorEventLoopLag } from '../actors/metrics-forwarder.ts';
import { projectionPnl, type KillSwitch } from '../broker/kill/kill-switch.ts';
import { exportStrategyRisk } from '../broker/kill/risk-metrics.ts';
import { forgetStrategy, seedProcess, seedStrategy } from '../actors/metric-series.ts';
import { describeDurability } from './nats-durability.ts';
import { BROKER, SUPERVISOR, repoNatsConf, strategyCredentialSource, strategyRole, writeNatsAuth, type NatsAuth, type NatsAuthOptions } from './nats-auth.ts';
import type { LoadedConfig } from '../config/registry.ts';

export type SystemOptions = {
  configFile: string;
  /** Longest the registry's strategy modules may take to load, at start and on reload (default 30 s). */
  moduleLoadTimeoutMs?: number;
  /** Exchange holidays (default: market-holidays.yaml next to the registry; absent = none). */
  holidaysFile?: string;
  log: Logger;
  clock?: Clock;
  /** Use this NATS server; otherwise one is started from nats.conf. */
  natsUrl?: string;
  natsConfigFile?: string;
  /** Port of the nats-server this starts (default 4222; -1 = any free port). */
  natsPort?: number;
  /** Credentials of a server given by `natsUrl` that enforces permissions; absent = an open server. */
  natsAuth?: NatsAuth;
  stateDir?: string;
  /** Real Kite account; absent = the built-in exchange (paper trading). */
  kite?: KiteAccount;
  simPort?: number;
  simSeed?: number;
  simTickIntervalMs?: number;
  /** Kite live account and postback endpoint from KITE_* variables (supervisor/venues/kite.ts); `orch start` passes process.env. */
  env?: KiteEnv;
  /** Built-in Kite exchange extras (benchmarks, tests). */
  kiteSim?: Pick<KiteSimOptions, 'enforceRateLimits' | 'observer'>;
  /** Real Kalshi account (see kalshiAccountFromEnv); absent = the built-in Kalshi exchange, built only when a strategy trades on Kalshi. */
  kalshi?: KalshiAccount;
  kalshiSimPort?: number;
  /** Background trading on the built-in Kalshi exchange (ms between rounds); false = a still market. */
  kalshiFlowMs?: number | false;
  metricsPort?: number | false;
  metricsHost?: string;
  logLevel?: string;
  /** The strategy workers' log format (default JSON); `orch start` passes its own. */
  logFormat?: LogFormat;
  logColor?: boolean;
  /** Watch the registry and strategy modules and apply edits (default true); `reload()` works either way. */
  hotReload?: boolean;
  /** Periodic reconciliation with each venue (ms; default 60 s; 0 = only at start, after reconnects and on request). */
  reconcileIntervalMs?: number;
  /** Size limit of the event log stream (default 2 GiB); at it new events are refused. */
  eventLogMaxBytes?: number;
  /** The broker lease (broker/lease.ts): a second system waits as standby until it lapses. Default 10 s. */
  leaseTtlMs?: number;
  /** Copies JetStream keeps of the event log and the kill and lease buckets (broker/replicas.ts): 1 (default) on one server, 3 on the cluster of deploy/nats/. */
  natsReplicas?: number;
  /**
   * `broker`: the broker alone, no strategy runs here (they run under `orch start --role
   * strategies` elsewhere: supervisor/strategies-host.ts). Default `all`.
   */
  role?: Extract<Role, 'all' | 'broker'>;
};

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
  reloader: Reloader;
  metricsUrl: string | undefined;
  /** What the console summary is made of (supervisor/console-summary.ts); still answers after stop. */
  summarySource(): SummarySource;
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
  const stopAll = () => undo.run();
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

    let natsUrl = o.natsUrl;
    let nats: NatsProcess | undefined;
    let natsAuth = o.natsAuth;
    let authOptions: NatsAuthOptions | undefined;
    if (!natsUrl) {
      // Our own server enforces who may publish what: one user per role and per strategy.
      // ORCH_NATS_*_PASSWORD from the environment copy `orch start` took (supervisor/secrets.ts takeSecrets): no longer in process.env.
      authOptions = { stateDir, strategyIds: config.strategies.map((s) => s.id), storeDir: join(stateDir, 'nats', 'js'), ...(o.natsConfigFile ? { baseConfig: o.natsConfigFile } : {}), ...(o.env ? { env: o.env } : {}) };
      natsAuth = await writeNatsAuth(authOptions);
      nats = await launchNatsServer({ configFile: natsAuth.configFile, storeDir: join(stateDir, 'nats', 'js'), storeDirInConfig: true, port: o.natsPort ?? 4222, pidFile: natsPidFile(stateDir) });
      natsUrl = nats.url;
      undo.push(() => nats!.stop());
    }
    const brokerCreds = natsAuth?.credentials(BROKER);

    // The broker's automation: with the operator, the only writer of the kill level.
    const controlNc = await connectBus({ servers: natsUrl, name: 'orch-control', ...(brokerCreds ?? {}) });
    undo.push(() => controlNc.drain().catch(() => undefined));
    // Which guarantee an acknowledged event has (docs/event-log.md, "Durability").
    const durability = describeDurability(controlNc.info?.version ?? 'unknown', nats ? await readFile(o.natsConfigFile ?? repoNatsConf, 'utf8').catch(() => '') : undefined);
    o.log[durability.level]({ nats: controlNc.info?.version, guarantee: durability.guarantee }, `event log durability: ${durability.message}`);

    // Kite's figures (KITE_ORDERS_PER_MINUTE ...) apply to the limiter and to the built-in exchange alike.
    const { guardMs: kiteGuardMs, ...kiteFigures } = kiteLimitSettings(o.env ?? {});
    let kite!: KiteVenue;
    let kalshi: KalshiVenueBuild | undefined;
    // Kalshi when the registry trades there, or when a live account is configured (so its first
    // strategy can be added by hot reload). Paper trading without a Kalshi strategy runs no sim.
    const kalshiInstruments = [...new Set(config.strategies.filter((s) => s.venue === 'kalshi').flatMap((s) => s.instruments))];
    const brokerLog = actorLogger(o.log, 'broker');
    const started = await startBroker({
      natsUrl, control: controlNc, teardown: undo, clock, log: o.log,
      ...(brokerCreds ? { credentials: brokerCreds } : {}),
      strategies: config.strategies,
      ...(config.recording ? { recording: config.recording } : {}),
      limits: mergeLimits(kiteLimits({ ...kiteFigures, guardMs: kiteGuardMs }), kalshiLimits(o.kalshi?.tier ?? 'basic')),
      venues: [
        async ({ clock, log, limiter, observe }) => {
          kite = await buildKiteVenue({
            clock, log, limiter, isMarketOpen: marketOpen, stateDir,
            // Login outcomes reach the kill switch's re-auth trigger.
            onLogin: (ok, atMarketOpen) => observe({ type: 'reauth', venue: 'kite', ok, ...(atMarketOpen ? { atMarketOpen } : {}) }),
            ...(o.kite ? { account: o.kite } : {}),
            ...(o.env ? { env: o.env } : {}),
            sim: { rateLimits: kiteFigures, ...o.kiteSim, ...(o.simPort !== undefined ? { port: o.simPort } : {}), ...(o.simSeed !== undefined ? { seed: o.simSeed } : {}), ...(o.simTickIntervalMs !== undefined ? { tickIntervalMs: o.simTickIntervalMs } : {}) },
          });
          return { ...kite, simulated: kite.sim !== undefined };
        },
        async ({ clock, log, limiter }) => {
          if (kalshiInstruments.length === 0 && !o.kalshi) return undefined;
          kalshi = await buildKalshiVenue({
            clock, log, limiter,
            ...(o.kalshi ? { account: o.kalshi } : {}),
            sim: { ...(o.kalshiSimPort !== undefined ? { port: o.kalshiSimPort } : {}), ...(o.simSeed !== undefined ? { seed: o.simSeed } : {}), flowIntervalMs: o.kalshiFlowMs ?? 1000, flowMarkets: kalshiInstruments },
          });
          return { ...kalshi, simulated: kalshi.sim !== undefined };
        },
      ],
      killSwitch: { ...(config.killTriggers ? { triggers: config.killTriggers } : {}), ...(config.flatten ? { flatten: config.flatten } : {}) },
      lease: o.leaseTtlMs !== undefined ? { ttlMs: o.leaseTtlMs } : {},
      ...(o.eventLogMaxBytes !== undefined ? { eventLogMaxBytes: o.eventLogMaxBytes } : {}),
      ...(o.natsReplicas !== undefined ? { replicas: o.natsReplicas } : {}),
      eventLogUsage: true,
      reconcileIntervalMs: o.reconcileIntervalMs ?? 60_000,
      ...(config.externalAtStart ? { externalAtStart: config.externalAtStart } : {}),
      // Level 2 only when the difference persists: the reconcile_mismatch trigger counts the
      // Reconciled reports and asks for a second look (killTriggers.reconcileConfirmChecks).
      onReconcileMismatch: async (venue, diffs) => {
        brokerLog.warn({ venue, differences: diffs.map((d) => `${d.symbol} ${d.field}: local ${d.local} venue ${d.atVenue}`) }, 'reconciliation: unexplained position difference or order changed outside orch; kill level 2 if the next check still finds it');
      },
    });
    const { broker, adapters, limiter, killStore } = started;
    const killSwitch = started.killSwitch!;
    const sim: KiteSim | undefined = kite.sim;

    // Kill broadcasts to the strategies' shared gates, on a connection that carries nothing else.
    const relayNc = await connectBus({ servers: natsUrl, name: 'orch-kill-relay', ...(natsAuth?.credentials(SUPERVISOR) ?? {}) });
    undo.push(() => relayNc.drain().catch(() => undefined));
    const killRelay = new KillRelay({
      nc: relayNc, clock, log: actorLogger(o.log, 'kill-relay'),
      initial: (id) => { const k = killStore.current(); return { global: k.global.level, own: k.strategies[id]?.level ?? 0, revision: k.revision }; },
    });
    killRelay.start();
    await killRelay.flush();
    undo.push(async () => killRelay.stop());
    const supervisor = new Supervisor({
      host: {
        killGate: (id) => killRelay.gateOf(id),
        natsUrl,
        ...(process.env.ORCH_NATS_CA ? { natsCaFile: process.env.ORCH_NATS_CA } : {}),
        ...(o.logLevel ? { logLevel: o.logLevel } : {}),
        ...(o.logFormat ? { logFormat: o.logFormat } : {}),
        ...(o.logColor ? { logColor: true } : {}),
        killLevel: (id) => {
          const k = killStore.current();
          return { level: effectiveLevel(k, id), revision: k.revision, halted: (k.strategies[id]?.level ?? 0) >= 1 || k.global.level >= 3 };
        },
      },
      clock,
      log: actorLogger(o.log, 'supervisor'),
      actorLog: (actor) => actorLogger(o.log, actor),
      // Each crash is counted by the restart-intensity trigger, which halts the strategy (level 1)
      // at the count the supervisor gives up at.
      onCrash: (id) => killSwitch.triggers.observe({ type: 'actor_restarted', strategyId: id }),
      onRemoved: (id) => killRelay.forget(id),
      ...(natsAuth ? { credentials: strategyCredentials(natsAuth, authOptions, nats, clock) } : {}),
    });
    undo.push(() => supervisor.stopAll());
    const running = () => supervisor.ids().flatMap((id) => supervisor.spec(id) ?? []);
    const pnl = projectionPnl(broker);
    killSwitch.arm({ broker, pnl, strategies: running, stopActors: () => supervisor.stopAll() });
    const monitor = killSwitch.triggers.monitor;
    const unexportRisk = exportStrategyRisk({ metrics, pnl, strategies: running, thresholds: (id) => monitor.thresholdsOf(id), peakOf: (id) => monitor.peakOf(id) });
    undo.push(async () => unexportRisk());
    // A live Kite feed is silent outside NSE hours: stale-data counts only while the market trades.
    if (kite.account.marketHoursOnly && config.strategies.some((st) => st.venue === 'kite')) {
      if (!holidays) o.log.warn({ file: holidaysFile }, 'no exchange holiday calendar: a weekday holiday will look like stale data');
      let open = marketOpen(clock.now());
      killSwitch.triggers.marketData('kite', open);
      metrics.marketOpen.set({ venue: 'kite' }, open ? 1 : 0);
      const hours = clock.setInterval(() => {
        const now = marketOpen(clock.now());
        metrics.marketOpen.set({ venue: 'kite' }, now ? 1 : 0);
        if (now !== open) killSwitch.triggers.marketData('kite', (open = now));
      }, 30_000);
      undo.push(async () => clock.clearInterval(hours));
    } else {
      metrics.marketOpen.set({ venue: 'kite' }, 1);
    }
    if (kalshi) metrics.marketOpen.set({ venue: 'kalshi' }, 1);
    const brokerOnly = o.role === 'broker';
    // Level 4 latched: the actors stay down until the operator resets it and the processes restart.
    if (brokerOnly) o.log.info('role broker: the strategies run in their own processes (orch start --role strategies)');
    else if (killSwitch.state.global.level === 4) o.log.error({ reason: killSwitch.state.global.reason }, 'kill level 4 (FLATTEN) is latched: strategies not started; reset it (orch reset) and restart');
    else {
      // An instrument the venue does not list is refused with its line, before any strategy starts.
      const unknown = await unknownInstrument(config, lookupFromAdapters(adapters));
      if (unknown) throw unknown;
      await supervisor.startAll(config.strategies);
    }

    // Set once /metrics runs: drops a removed strategy's last snapshot from its worker thread.
    let forgetActorMetrics: ((id: string) => void) | undefined;
    const reloader = new Reloader({
      // The broker alone follows the registry (which strategies may trade, their limits, removed
      // ones' orders cancelled); the strategies' hosts start and stop their own.
      config, supervisor: brokerOnly ? NO_LOCAL_STRATEGIES : supervisor, broker, clock, log: actorLogger(o.log, 'reload'), venues: new Set(adapters.map((a) => a.venue)), probe,
      knows: lookupFromAdapters(adapters),
      // Kill-trigger thresholds follow the registry, so an added strategy is guarded from its first order.
      onApplied: (next, previous) => {
        killSwitch.triggers.setStrategies(next.strategies);
        // Added strategies' series start at 0; a removed strategy's series go with it.
        for (const st of next.strategies) seedStrategy(metrics, st);
        const kept = new Set(next.strategies.map((st) => st.id));
        for (const st of previous.strategies) {
          if (kept.has(st.id)) continue;
          forgetActorMetrics?.(st.id);
          forgetStrategy(metrics, st.id).catch((err: unknown) => o.log.warn({ err, strategy: st.id }, 'could not drop the series of a removed strategy'));
        }
      },
    });
    await reloader.init();
    if (o.hotReload !== false) reloader.watch();
    // Before the supervisor stops, so no reload starts a strategy during shutdown.
    undo.push(() => reloader.close());

    // `nats micro ls` shows both; `orch status` reads their status endpoints.
    const services = await startServices(controlNc, {
      broker: { broker, adapters, limiter, kill: killStore, clock, flatten: () => killSwitch.controller.lastFlatten },
      ...(brokerOnly ? {} : { supervisor: { supervisor, reloader, clock, placement: placementOf(undefined) } }),
      log: actorLogger(o.log, 'services'),
    });
    undo.push(() => services.stop());

    let metricsUrl: string | undefined;
    if (o.metricsPort !== false) {
      // Worker threads publish their registries over NATS; /metrics serves them merged with ours.
      const aggregator = new MetricsAggregator({ registry, clock, log: actorLogger(o.log, 'metrics') });
      aggregator.start(controlNc);
      forgetActorMetrics = (id) => aggregator.forget(id);
      const mainLag = monitorEventLoopLag({ registry, actor: 'main', clock, intervalMs: 5_000 });
      // A first sample at once, so the series exists from the first scrape.
      mainLag.sample();
      undo.push(async () => { mainLag.stop(); aggregator.stop(); });
      const http = await startHttp({
        host: o.metricsHost ?? '127.0.0.1',
        port: o.metricsPort ?? 9464,
        registry: aggregator,
        health: async () => {
          const actors = await supervisor.view();
          return { ok: adapters.every((a) => a.connected()) && actors.every((a) => a.status === 'running' || a.status === 'stopped'), broker: Object.fromEntries(adapters.map((a) => [a.venue, a.connected()])), actors: actors.map((a) => ({ id: a.id, status: a.status, restarts: a.restarts })) };
        },
      });
      metricsUrl = `${http.url}/metrics`;
      undo.push(() => http.close());
    }
    const summarySource = (): SummarySource => ({
      projection: broker.projection,
      lastPrice: (venue, symbol) => broker.lastPrice(venue, symbol),
      strategies: reloader.current().strategies.filter((s) => s.enabled || supervisor.status(s.id) !== undefined)
        .map((s) => ({ id: s.id, venue: s.venue, status: supervisor.status(s.id) ?? 'not started' })),
      kill: killStore.current(),
    });
    return { config, natsUrl, sim, kitePostbackUrl: kite.postbackUrl, kalshiSim: kalshi?.sim, broker, supervisor, killStore, killSwitch, natsAuth, reloader, metricsUrl, summarySource, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** The supervisor side of a reload on a broker-only process: no strategy runs here. */
const NO_LOCAL_STRATEGIES: ReloadTargets['supervisor'] = { startChild: async () => undefined, stopChild: async () => undefined, removeChild: async () => undefined };

/**
 * Each strategy's own NATS user. On our own server a strategy added to the YAML later gets its
 * user on the fly (files rewritten, server reloaded); on a server we did not start, it must exist.
 */
function strategyCredentials(initial: NatsAuth, options: NatsAuthOptions | undefined, nats: NatsProcess | undefined, clock: Clock) {
  if (!options || !nats) return async (spec: { id: string }) => initial.credentials(strategyRole(spec.id));
  const source = strategyCredentialSource({
    initial, options,
    reload: async (probe) => {
      nats.process.kill('SIGHUP');
      for (let i = 0; i < 100; i++) {
        const nc = await connectBus({ servers: nats.url, name: 'orch-auth-probe', user: probe.user, pass: probe.pass, timeoutMs: 1_000 }).catch(() => undefined);
        if (nc) return void (await nc.close());
        await clock.sleep(50);
      }
      throw new Error(`nats-server did not take the new user ${probe.user} after a reload`);
    },
  });
  return (spec: { id: string }) => source(spec.id);
}
