import { join } from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../actors/clock.ts';
import { registry, enableDefaultMetrics } from '../actors/metrics.ts';
import { actorLogger } from '../actors/logger.ts';
import { connectBus } from '../actors/bus.ts';
import { BrokerActor } from '../broker/broker-actor.ts';
import { EventLog, ensureEventStream } from '../broker/event-log.ts';
import { killSwitchGate, riskLimitGate } from '../broker/gates.ts';
import { KillStore } from '../broker/kill/kill-store.ts';
import { effectiveLevel } from '../broker/kill/levels.ts';
import { SharedLimiter } from '../broker/limiter/shared-limiter.ts';
import { kiteLimits, kalshiLimits, mergeLimits } from '../broker/limiter/limits.ts';
import type { KiteSim } from '../broker/sim/kite/index.ts';
import type { KalshiSim } from '../broker/sim/kalshi/index.ts';
import { buildKalshiVenue, type KalshiAccount } from './venues/kalshi.ts';
import { buildKiteVenue, type KiteAccount } from './venues/kite.ts';
import { launchNatsServer, type NatsProcess } from './nats-launcher.ts';
import { loadConfig, type LoadedConfig } from './config.ts';
import { Supervisor } from './supervisor.ts';
import { startHttp } from './http.ts';
import { Reloader } from './reload.ts';

export type SystemOptions = {
  configFile: string;
  log: Logger;
  clock?: Clock;
  /** Use this NATS server; otherwise one is started from nats.conf. */
  natsUrl?: string;
  natsConfigFile?: string;
  stateDir?: string;
  /** Real Kite account; absent = the built-in exchange (paper trading). */
  kite?: KiteAccount;
  simPort?: number;
  simSeed?: number;
  simTickIntervalMs?: number;
  /** Real Kalshi account (see kalshiAccountFromEnv); absent = the built-in Kalshi exchange. Built only when a strategy trades on Kalshi. */
  kalshi?: KalshiAccount;
  kalshiSimPort?: number;
  /** Background trading on the built-in Kalshi exchange (ms between rounds); false = a still market. */
  kalshiFlowMs?: number | false;
  metricsPort?: number | false;
  metricsHost?: string;
  logLevel?: string;
  /** Watch the registry and strategy modules and apply edits (default true); `reload()` works either way. */
  hotReload?: boolean;
};

export type System = {
  config: LoadedConfig;
  natsUrl: string;
  sim: KiteSim | undefined;
  kalshiSim: KalshiSim | undefined;
  broker: BrokerActor;
  supervisor: Supervisor;
  killStore: KillStore;
  reloader: Reloader;
  metricsUrl: string | undefined;
  stop(): Promise<void>;
};

/**
 * Starts the whole system in dependency order: NATS, the exchange (paper) or the account
 * (live), the broker actor, then the strategies. `stop` undoes it in reverse.
 */
export async function startSystem(o: SystemOptions): Promise<System> {
  const clock = o.clock ?? systemClock;
  const stateDir = o.stateDir ?? join(process.cwd(), '.orch');
  const undo: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const f of undo.reverse()) await f().catch((err) => o.log.warn({ err }, 'shutdown step failed'));
  };
  try {
    // Refuse a bad registry before anything starts.
    const config = await loadConfig(o.configFile);
    enableDefaultMetrics();

    let natsUrl = o.natsUrl;
    let nats: NatsProcess | undefined;
    if (!natsUrl) {
      nats = await launchNatsServer({ configFile: o.natsConfigFile ?? join(process.cwd(), 'nats.conf'), storeDir: join(stateDir, 'nats'), port: 4222 });
      natsUrl = nats.url;
      undo.push(() => nats!.stop());
    }

    // The kill level is read before the broker subscribes to anything.
    const controlNc = await connectBus({ servers: natsUrl, name: 'orch-control' });
    undo.push(() => controlNc.drain().catch(() => undefined));
    await ensureEventStream(controlNc);
    const killStore = await KillStore.open(controlNc, { clock, log: actorLogger(o.log, 'kill'), role: 'automation' });
    const { watch } = await killStore.readThenWatch(() => undefined);
    undo.push(async () => watch.stop());

    const brokerLog = actorLogger(o.log, 'broker');
    // One limiter for every venue call, shared by every strategy.
    const limiter = new SharedLimiter({ clock, limits: mergeLimits(kiteLimits(), kalshiLimits(o.kalshi?.tier ?? 'basic')), logger: brokerLog });
    const kite = await buildKiteVenue({
      clock, log: brokerLog, limiter,
      ...(o.kite ? { account: o.kite } : {}),
      sim: { ...(o.simPort !== undefined ? { port: o.simPort } : {}), ...(o.simSeed !== undefined ? { seed: o.simSeed } : {}), ...(o.simTickIntervalMs !== undefined ? { tickIntervalMs: o.simTickIntervalMs } : {}) },
    });
    undo.push(() => kite.close());
    const sim: KiteSim | undefined = kite.sim;
    const adapter = kite.adapter;
    // Kalshi only when the registry trades there: no socket, key or credentials otherwise.
    const kalshiInstruments = [...new Set(config.strategies.filter((s) => s.venue === 'kalshi').flatMap((s) => s.instruments))];
    const kalshi = kalshiInstruments.length === 0 ? undefined : await buildKalshiVenue({
      clock, log: brokerLog, limiter,
      ...(o.kalshi ? { account: o.kalshi } : {}),
      sim: { ...(o.kalshiSimPort !== undefined ? { port: o.kalshiSimPort } : {}), ...(o.simSeed !== undefined ? { seed: o.simSeed } : {}), flowIntervalMs: o.kalshiFlowMs ?? 1000, flowMarkets: kalshiInstruments },
    });
    if (kalshi) undo.push(() => kalshi.close());
    const adapters = kalshi ? [adapter, kalshi.adapter] : [adapter];

    const broker = new BrokerActor({
      natsUrl, adapters, strategies: config.strategies, clock, log: brokerLog,
      gates: [killSwitchGate(killStore), riskLimitGate(clock)],
      eventLog: (nc) => new EventLog(nc, brokerLog),
      onMarginException: (strategyId, err) => {
        void killStore.raise(1, { kind: 'strategy', strategyId }, `MarginException: ${err.message}`, 'automation:margin').catch((e) => brokerLog.error({ err: e }, 'kill raise failed'));
      },
    });
    await broker.start();
    undo.push(() => broker.stop());

    const supervisor = new Supervisor({
      host: {
        natsUrl,
        ...(o.logLevel ? { logLevel: o.logLevel } : {}),
        killLevel: (id) => ({ level: effectiveLevel(killStore.current(), id), revision: killStore.current().revision }),
      },
      clock,
      log: actorLogger(o.log, 'supervisor'),
      onGiveUp: (id, restarts) => {
        void killStore.raise(1, { kind: 'strategy', strategyId: id }, 'restart intensity exceeded', 'automation:restart_intensity', { restarts }).catch(() => undefined);
      },
    });
    undo.push(() => supervisor.stopAll());
    await supervisor.startAll(config.strategies);

    const reloader = new Reloader({ config, supervisor, broker, clock, log: actorLogger(o.log, 'reload') });
    await reloader.init();
    if (o.hotReload !== false) reloader.watch();
    // Before the supervisor stops, so no reload starts a strategy during shutdown.
    undo.push(() => reloader.close());

    let metricsUrl: string | undefined;
    if (o.metricsPort !== false) {
      const http = await startHttp({
        host: o.metricsHost ?? '127.0.0.1',
        port: o.metricsPort ?? 9464,
        registry,
        health: async () => {
          const actors = await supervisor.view();
          return { ok: adapters.every((a) => a.connected()) && actors.every((a) => a.status === 'running' || a.status === 'stopped'), broker: Object.fromEntries(adapters.map((a) => [a.venue, a.connected()])), actors: actors.map((a) => ({ id: a.id, status: a.status, restarts: a.restarts })) };
        },
      });
      metricsUrl = `${http.url}/metrics`;
      undo.push(() => http.close());
    }
    return { config, natsUrl, sim, kalshiSim: kalshi?.sim, broker, supervisor, killStore, reloader, metricsUrl, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
