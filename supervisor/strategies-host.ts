import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../actors/clock.ts';
import { connectBus, publishJson } from '../actors/bus.ts';
import { ActorCrashedSchema } from '../actors/messages.ts';
import { subjects } from '../actors/subjects.ts';
import { actorLogger, type LogFormat } from '../actors/logger.ts';
import { KillStore } from '../broker/kill/kill-store.ts';
import { configErrorFrom, deepFreeze } from './config.ts';
import type { LoadedConfig } from '../config/registry.ts';
import { startStrategySupervisor } from './strategy-supervisor.ts';
import { SUPERVISOR, strategyRole, type Credentials, type Role } from './nats-auth.ts';
import { groupProbe, placementOf } from './placement.ts';
import { Reloader, probeInWorker, startingPoint, type ReloadTargets } from './reload.ts';
import { startServices } from './services.ts';
import { startStrategiesMetrics } from './health.ts';
import { enableDefaultMetrics, metrics } from '../actors/metrics.ts';
import { CONFIG_RELOAD_RESULTS, seedStrategy } from '../actors/metric-series.ts';
import type { Supervisor } from './supervisor.ts';
import { Teardown } from '../actors/teardown.ts';
import { followRegistryMetrics } from './registry-metrics.ts';

export type StrategiesHostOptions = {
  configFile: string;
  /** Only the strategies of this placement group (the registry's `group`); absent = every strategy. */
  group?: string;
  /** The NATS the broker uses: one URL or a cluster's, comma-separated. */
  natsUrl: string;
  /** The supervisor's and the strategies' users (supervisor/nats-auth.ts storedNatsAuth, or the launcher's answers); absent = an open server. */
  natsAuth?: { credentials(role: Role): Credentials | Promise<Credentials> };
  /** CA of the cluster's TLS certificates, handed to every strategy worker. */
  natsCaFile?: string;
  log: Logger;
  clock?: Clock;
  logLevel?: string;
  logFormat?: LogFormat;
  logColor?: boolean;
  hotReload?: boolean;
  moduleLoadTimeoutMs?: number;
  /** Its own /metrics and /healthz (supervisor and strategy series of this host); false = none. Default 9465. */
  metricsPort?: number | false;
  /** Default 127.0.0.1. */
  metricsHost?: string;
};

export type StrategiesHost = { config: LoadedConfig; supervisor: Supervisor; reloader: Reloader; metricsUrl: string | undefined; stop(): Promise<void> };

/** Default port of a strategies process's /metrics: next to the broker's 9464, so both fit on one host. */
export const STRATEGIES_METRICS_PORT = 9465;

/** The broker side of a reload on a strategies host: the broker, elsewhere, follows the registry itself. */
const REMOTE_BROKER: ReloadTargets['broker'] = { setStrategies: () => undefined, syncInstruments: async () => undefined, cancelAll: async () => 0 };

/**
 * `orch start --role strategies`: a supervisor and the strategy workers of one placement group,
 * connected to the NATS the broker uses (on this host or another). It holds no venue secret and
 * talks to no venue: every order goes to the broker as an intent. It reads the latched kill
 * level before any strategy starts, relays kill broadcasts to its workers' gates, and stops its
 * strategies at level 4 (FLATTEN) as the broker's own supervisor would.
 */
export async function startStrategiesHost(o: StrategiesHostOptions): Promise<StrategiesHost> {
  const clock = o.clock ?? systemClock;
  const undo = new Teardown(o.log);
  try {
    const probe = groupProbe(probeInWorker(o.moduleLoadTimeoutMs !== undefined ? { timeoutMs: o.moduleLoadTimeoutMs } : {}), o.group);
    const probed = await probe(resolve(o.configFile));
    if (!probed.ok) throw configErrorFrom(probed.error);
    const config = deepFreeze(probed.config);
    if (config.strategies.length === 0) o.log.warn({ group: o.group }, 'no strategy of the registry is in this placement group');

    const supervisorCreds = o.natsAuth ? await o.natsAuth.credentials(SUPERVISOR) : undefined;
    const nc = await connectBus({ servers: o.natsUrl, name: `orch-strategies${o.group ? `:${o.group}` : ''}`, ...(supervisorCreds ?? {}), ...(o.natsCaFile ? { tlsCaFile: o.natsCaFile } : {}) });
    undo.push(() => nc.drain().catch(() => undefined));
    // The level is read before any strategy starts, and followed from then on.
    const killStore = await KillStore.open(nc, { clock, log: actorLogger(o.log, 'kill'), role: 'reader' });
    let supervisor: Supervisor | undefined;
    const { watch } = await killStore.readThenWatch((change) => {
      // FLATTEN stops every actor until an operator resets it and the processes restart.
      if (change.scope.kind === 'global' && change.entry.level === 4) void supervisor?.stopAll();
    });
    undo.push(async () => watch.stop());

    const sup = await startStrategySupervisor({
      natsUrl: o.natsUrl, killStore, clock, log: o.log, undo,
      ...(supervisorCreds ? { supervisorCreds } : {}),
      ...(o.natsCaFile ? { natsCaFile: o.natsCaFile } : {}),
      ...(o.logLevel ? { logLevel: o.logLevel } : {}),
      ...(o.logFormat ? { logFormat: o.logFormat } : {}),
      ...(o.logColor ? { logColor: true } : {}),
      ...(o.natsAuth ? { credentials: async (spec: { id: string }) => o.natsAuth!.credentials(strategyRole(spec.id)) } : {}),
      // The broker's restart-intensity trigger (level 1 at the count this supervisor gives up at) counts them.
      onCrash: (id) => {
        try {
          publishJson(nc, subjects.actorCrashed(id), ActorCrashedSchema, { type: 'actor_crashed', actorId: id, ts: clock.now() });
        } catch (err) {
          o.log.warn({ err, strategy: id }, 'crash not reported to the broker (NATS connection closed)');
        }
      },
    });
    supervisor = sup;
    // What the strategies start from, so the watch (begun later) cannot miss an edit made meanwhile.
    const startedFrom = await startingPoint(config);
    if (killStore.current().global.level === 4) o.log.error({ reason: killStore.current().global.reason }, 'kill level 4 (FLATTEN) is latched: strategies not started; reset it (orch reset) and restart');
    else await sup.startAll(config.strategies);

    // Every series of this host's strategies starts at 0 (actors/metric-series.ts); added ones on reload.
    enableDefaultMetrics();
    for (const result of CONFIG_RELOAD_RESULTS) metrics.configReloadTotal.inc({ result }, 0);
    for (const st of config.strategies) seedStrategy(metrics, st);
    // Set once /metrics runs: drops a removed strategy's last snapshot from its worker thread.
    let forgetActorMetrics: ((id: string) => void) | undefined;
    const reloader = new Reloader({
      config, supervisor: sup, broker: REMOTE_BROKER, clock, log: actorLogger(o.log, 'reload'), probe,
      // Added strategies' series start at 0; a removed one's go with it, as on the broker's /metrics.
      onApplied: (next, previous) => followRegistryMetrics(next, previous, (id) => forgetActorMetrics?.(id), o.log),
    });
    await reloader.init(startedFrom);
    if (o.hotReload !== false) reloader.watch();
    undo.push(() => reloader.close());

    const services = await startServices(nc, { supervisor: { supervisor: sup, reloader, clock, placement: placementOf(o.group) }, log: actorLogger(o.log, 'services') });
    undo.push(() => services.stop());
    const health = o.metricsPort === false ? undefined : await startStrategiesMetrics({ nc, clock, log: actorLogger(o.log, 'metrics'), host: o.metricsHost ?? '127.0.0.1', port: o.metricsPort ?? STRATEGIES_METRICS_PORT, supervisor: sup });
    if (health) undo.push(() => health.stop());
    forgetActorMetrics = health?.forget;
    return { config, supervisor: sup, reloader, metricsUrl: health?.metricsUrl, stop: () => undo.run() };
  } catch (e) {
    await undo.run();
    throw e;
  }
}
