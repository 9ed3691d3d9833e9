/**
 * The piscina task that hosts one strategy actor for its whole life. The task resolves when
 * the actor stops and rejects when it crashes; control (start/stop/health) is comlink over
 * the MessagePort the supervisor transferred in.
 */
import type { MessagePort } from 'node:worker_threads';
import { expose } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { pino } from 'pino';
import { StrategyActor, type InitialKill } from './strategy-actor.ts';
import { createLogger, actorLogger, registerSecret, type LogFormat } from './logger.ts';
import { systemClock } from './clock.ts';
import { registry } from './metrics.ts';
import { forwardMetrics } from './metrics-forwarder.ts';
import type { Health } from './messages.ts';
import type { StrategySpec } from '../config/registry.ts';
import { importStrategyModuleFrom } from './strategy-contract.ts';
import { DEFAULT_STRATEGY_NICENESS, setThisThreadNiceness } from './thread-priority.ts';
import { lockDownProcessControl } from './worker-lockdown.ts';

export type StrategyTask = {
  port: MessagePort;
  spec: StrategySpec;
  /** This code, compiled to one module (supervisor/worker-code.ts): what the entry imports. */
  workerCode: string;
  /** The strategy module `spec.module`, compiled the same way when the worker started. */
  moduleUrl: string;
  natsUrl: string;
  natsUser?: string;
  natsPass?: string;
  natsCaFile?: string;
  logLevel?: string;
  /** Readable lines (a terminal) or JSON, as the supervisor's own log. */
  logFormat?: LogFormat;
  logColor?: boolean;
  initialKill?: InitialKill;
  /** Shared with the supervisor, which closes it on a kill broadcast (actors/kill-gate.ts). */
  killGate?: SharedArrayBuffer;
  /** This worker's latest-tick slots, written by the host's market-data hub (supervisor/md-hub.ts). */
  marketData?: SharedArrayBuffer;
};

export type ActorControl = {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): Health;
};

export default async function run(task: StrategyTask): Promise<{ stopped: true }> {
  // This thread's own logger blanks its NATS password wherever it appears.
  registerSecret(task.natsPass);
  const root = createLogger({ name: 'orch', level: task.logLevel ?? 'info', destination: pino.destination({ fd: 1, sync: true }), ...(task.logFormat ? { format: task.logFormat } : {}), ...(task.logColor ? { color: true } : {}) });
  const log = actorLogger(root, `strategy:${task.spec.id}`);
  const priority = setThisThreadNiceness(task.spec.resources.niceness ?? DEFAULT_STRATEGY_NICENESS);
  if (priority.ok) log.debug({ tid: priority.tid, niceness: priority.niceness }, 'worker thread priority lowered');
  else log.warn({ reason: priority.reason }, 'worker thread priority unchanged: a kill may wait for a core behind busy strategies');
  // After lowering this thread's priority, before any of the strategy's code runs.
  lockDownProcessControl();
  const module = await importStrategyModuleFrom(task.moduleUrl);
  const actor = new StrategyActor({
    spec: task.spec, module, natsUrl: task.natsUrl, clock: systemClock, log,
    ...(task.natsUser ? { natsUser: task.natsUser } : {}),
    ...(task.natsPass ? { natsPass: task.natsPass } : {}),
    ...(task.natsCaFile ? { natsCaFile: task.natsCaFile } : {}),
    ...(task.initialKill ? { initialKill: task.initialKill } : {}),
    ...(task.killGate ? { killGate: task.killGate } : {}),
    ...(task.marketData ? { marketData: task.marketData } : {}),
  });
  // This thread's registry reaches the supervisor's /metrics over NATS.
  let forwarder: { stop(): void } | undefined;
  const control: ActorControl = {
    start: async () => {
      await actor.start();
      if (actor.connection) forwarder ??= forwardMetrics({ nc: actor.connection, registry, actorId: task.spec.id, clock: systemClock });
    },
    stop: () => {
      forwarder?.stop();
      return actor.stop();
    },
    health: () => actor.health(),
  };
  expose(control, nodeEndpoint(task.port));
  try {
    await actor.done;
    return { stopped: true };
  } finally {
    forwarder?.stop();
    task.port.close();
  }
}
