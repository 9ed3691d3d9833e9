import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { actorLogger, type LogFormat } from '../actors/logger.ts';
import type { Teardown } from '../actors/teardown.ts';
import type { StrategySpec } from '../config/registry.ts';
import type { KillStore } from '../broker/kill/kill-store.ts';
import { effectiveLevel } from '../broker/kill/levels.ts';
import { KillRelay } from './kill-relay.ts';
import { MarketDataHub } from './md-hub.ts';
import { Supervisor } from './supervisor.ts';

export type StrategySupervisorOptions = {
  natsUrl: string;
  /** The supervisor's own NATS user, when the server enforces permissions. */
  supervisorCreds?: { user: string; pass: string };
  /** CA of a TLS cluster; the workers get it too. */
  natsCaFile?: string;
  /** Read before each strategy starts (its latched level), kept current by its watch. */
  killStore: KillStore;
  clock: Clock;
  log: Logger;
  logLevel?: string;
  logFormat?: LogFormat;
  logColor?: boolean;
  onCrash?: (id: string) => void;
  credentials?: (spec: StrategySpec) => Promise<{ user: string; pass: string } | undefined>;
  undo: Teardown;
};

/**
 * The strategy supervisor as every process role that hosts strategies builds it (`orch start`
 * with the broker, or `--role strategies`): the kill relay in a thread and on a NATS connection
 * that carry nothing else, closing each strategy's shared kill gate (actors/kill-gate.ts); the
 * market-data hub, one subscription per instrument for every worker (supervisor/md-hub.ts); and
 * the latched kill level handed to each actor at launch.
 */
export async function startStrategySupervisor(o: StrategySupervisorOptions): Promise<Supervisor> {
  const { clock, killStore, undo } = o;
  const killRelay = new KillRelay({
    natsUrl: o.natsUrl, log: actorLogger(o.log, 'kill-relay'),
    ...(o.supervisorCreds ?? {}), ...(o.natsCaFile ? { tlsCaFile: o.natsCaFile } : {}),
    initial: (id) => { const k = killStore.current(); return { global: k.global.level, own: k.strategies[id]?.level ?? 0, revision: k.revision }; },
  });
  await killRelay.start();
  undo.push(() => killRelay.stop());
  // One market-data subscription per instrument for the whole process, its ticks to the workers through shared memory.
  const mdHub = new MarketDataHub({
    natsUrl: o.natsUrl, log: actorLogger(o.log, 'md-hub'),
    ...(o.supervisorCreds ?? {}), ...(o.natsCaFile ? { tlsCaFile: o.natsCaFile } : {}),
  });
  await mdHub.start();
  undo.push(() => mdHub.stop());
  const supervisor = new Supervisor({
    host: {
      natsUrl: o.natsUrl,
      killGate: (id) => killRelay.gateOf(id),
      marketData: (spec) => mdHub.attach(spec),
      ...(o.natsCaFile ? { natsCaFile: o.natsCaFile } : {}),
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
    onRemoved: (id) => killRelay.forget(id),
    ...(o.onCrash ? { onCrash: o.onCrash } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
  });
  undo.push(() => supervisor.stopAll());
  return supervisor;
}
