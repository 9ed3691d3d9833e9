import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { addRestart, intensityExceeded, type RestartIntensity } from '../config/restart-intensity.ts';
import type { StrategiesProcess } from './strategies-process.ts';

export type KeptStrategies = {
  /** The process running now (the last one started). */
  current(): StrategiesProcess;
  /** A strategy's state in the process running now. */
  status(id: string): string | undefined;
  /** Resolves when the process ended past the restart intensity (or could not be started again): the run ends. */
  gaveUp: Promise<void>;
  stop(): Promise<void>;
};

/**
 * Keeps the permission-restricted strategies process of `orch start` running, as the supervisor
 * keeps a strategy worker (config/restart-intensity.ts): a process that ends without being asked
 * to (the kernel's OOM killer, a signal, a crash) is started again with every strategy of the
 * registry, at most `intensity().maxRestarts` times within `withinSeconds` (the registry's
 * `restartIntensity`); one more and `gaveUp` resolves, so the run ends (exit 1) instead of
 * trading with no strategy. The broker, its orders and its kill level are untouched meanwhile.
 */
export function keepStrategiesProcess(first: StrategiesProcess, o: { restart: () => Promise<StrategiesProcess>; intensity: () => RestartIntensity; clock: Clock; log: Logger }): KeptStrategies {
  let current = first;
  let starting: Promise<StrategiesProcess> | undefined;
  let stopping = false;
  let restarts: number[] = [];
  let giveUp!: () => void;
  const gaveUp = new Promise<void>((r) => { giveUp = r; });

  const follow = (p: StrategiesProcess) => {
    void p.exited.then(async (code) => {
      if (stopping || p !== current) return;
      for (;;) {
        const policy = o.intensity();
        restarts = addRestart(restarts, o.clock.now(), policy.withinSeconds * 1000);
        if (intensityExceeded(restarts, policy)) {
          o.log.error({ exit: code, restarts: restarts.length - 1, within_s: policy.withinSeconds }, 'the strategies process ended past its restart intensity: the run ends');
          return giveUp();
        }
        o.log.error({ exit: code, pid: p.pid, restart: restarts.length }, 'the strategies process ended: starting it again');
        try {
          starting = o.restart();
          const next = await starting;
          current = next;
          if (stopping) return;
          await next.running;
          o.log.info({ strategiesPid: next.pid }, 'the strategies process runs again');
          return follow(next);
        } catch (e) {
          if (stopping) return;
          o.log.error({ err: e }, 'the strategies process could not be started again');
          code = null;
        } finally {
          starting = undefined;
        }
      }
    });
  };
  follow(first);

  return {
    current: () => current,
    status: (id) => current.status(id),
    gaveUp,
    stop: async () => {
      stopping = true;
      const late = await starting?.catch(() => undefined);
      await (late ?? current).stop();
      if (late && late !== current) await current.stop();
    },
  };
}
