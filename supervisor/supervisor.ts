import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../actors/clock.ts';
import { metrics } from '../actors/metrics.ts';
import type { Health } from '../actors/messages.ts';
import { StrategyHost, type HostOptions } from './actor-host.ts';
import type { StrategySpec } from '../config/registry.ts';
import { addRestart, intensityExceeded } from '../config/restart-intensity.ts';

export const actorRestarts = metrics.actorRestartsTotal;
export const actorUp = metrics.actorUp;
export const actorGaveUp = metrics.actorGaveUpTotal;

export type ChildStatus = 'starting' | 'running' | 'restarting' | 'down' | 'stopping' | 'stopped';

type Child = {
  spec: StrategySpec;
  host: StrategyHost | undefined;
  status: ChildStatus;
  restarts: number[];
  restartCount: number;
  lastError?: string;
  healthTimer?: TimerHandle;
};

export type ChildView = { id: string; status: ChildStatus; restarts: number; lastError?: string; health?: Health };

export type SupervisorOptions = {
  host: HostOptions;
  clock: Clock;
  log: Logger;
  /**
   * The logger of one strategy actor (`actor: strategy:<id>`), made from the root logger: a child
   * of `log` would carry `actor` twice. Default: `log` with a `strategy` field.
   */
  actorLog?: (actor: string) => Logger;
  /** Called when a strategy exceeds its restart intensity and is left down. */
  onGiveUp?: (id: string, restarts: number) => void;
  /** Called on every crash of a running strategy (the broker's restart-intensity trigger counts them). */
  onCrash?: (id: string) => void;
  /** The strategy's own NATS user, when the server enforces permissions (docs/permissions.md). */
  credentials?: (spec: StrategySpec) => Promise<{ user: string; pass: string } | undefined>;
  /** Called when a child is removed for good (hot reload of a deleted entry). */
  onRemoved?: (id: string) => void;
  /** Factory seam for tests; defaults to a real worker host. */
  makeHost?: (spec: StrategySpec, opts: HostOptions) => StrategyHost;
};

/**
 * One-for-one supervision of strategy actors. Children are data (their specs); they start in
 * order, stop in reverse, and a crash restarts only the child that crashed.
 */
export class Supervisor {
  private readonly children = new Map<string, Child>();
  private stopping = false;

  constructor(private readonly opts: SupervisorOptions) {}

  private strategyLog(id: string): Logger {
    return this.opts.actorLog?.(`strategy:${id}`) ?? this.opts.log.child({ strategy: id });
  }

  ids(): string[] {
    return [...this.children.keys()];
  }

  spec(id: string): StrategySpec | undefined {
    return this.children.get(id)?.spec;
  }

  async startAll(specs: readonly StrategySpec[]): Promise<void> {
    for (const spec of specs) if (spec.enabled) await this.startChild(spec);
  }

  async startChild(spec: StrategySpec): Promise<void> {
    const existing = this.children.get(spec.id);
    const child: Child = existing ?? { spec, host: undefined, status: 'starting', restarts: [], restartCount: 0 };
    child.spec = spec;
    child.status = 'starting';
    this.children.set(spec.id, child);
    await this.launch(child);
  }

  private async launch(child: Child): Promise<void> {
    const log = this.strategyLog(child.spec.id);
    const creds = await this.opts.credentials?.(child.spec);
    const hostOpts = creds ? { ...this.opts.host, natsUser: creds.user, natsPass: creds.pass } : this.opts.host;
    const host = (this.opts.makeHost ?? ((s, o) => new StrategyHost(s, o)))(child.spec, hostOpts);
    child.host = host;
    try {
      await host.start();
    } catch (e) {
      child.lastError = (e as Error).message;
      log.error({ err: e }, 'strategy failed to start');
      await host.dispose();
      return this.onCrash(child, host, e);
    }
    child.status = 'running';
    actorUp.set({ actor: child.spec.id }, 1);
    void this.watchHealth(child, host, log);
    host.task.then(
      () => {
        if (child.host === host && child.status !== 'stopping') {
          child.status = 'stopped';
          actorUp.set({ actor: child.spec.id }, 0);
        }
      },
      (err) => {
        if (child.host !== host) return;
        child.lastError = err instanceof Error ? err.message : String(err);
        log.error({ err }, 'strategy crashed');
        void host.dispose().then(() => this.onCrash(child, host, err));
      },
    );
  }

  /**
   * Asks the actor for its health over comlink every interval; `maxMissed` answers in a row
   * later than the deadline and the worker is terminated, which the task's rejection turns
   * into a crash (the restart policy applies). A worker in a CPU loop answers nothing.
   */
  private watchHealth(child: Child, host: StrategyHost, log: Logger): void {
    const { intervalSeconds, timeoutSeconds, maxMissed } = child.spec.health;
    const { clock } = this.opts;
    const current = () => child.host === host && child.status === 'running';
    let missed = 0;
    const schedule = () => { child.healthTimer = clock.setTimeout(() => void check(), intervalSeconds * 1000); };
    const check = async () => {
      if (!current()) return;
      const h = await host.health(timeoutSeconds * 1000);
      if (!current()) return;
      if (h) {
        missed = 0;
        return schedule();
      }
      missed++;
      log.warn({ missed, maxMissed, timeout_s: timeoutSeconds }, 'health check not answered in time');
      if (missed < maxMissed) return schedule();
      log.error({ missed, timeout_s: timeoutSeconds }, 'strategy unresponsive: terminating its worker');
      await host.terminate(`unresponsive: ${missed} health checks in a row not answered within ${timeoutSeconds} s; worker terminated`);
    };
    schedule();
  }

  private async onCrash(child: Child, host: StrategyHost, _err: unknown): Promise<void> {
    actorUp.set({ actor: child.spec.id }, 0);
    this.opts.clock.clearTimeout(child.healthTimer);
    if (this.stopping || child.host !== host || child.status === 'stopping') return;
    this.opts.onCrash?.(child.spec.id);
    const now = this.opts.clock.now();
    child.restarts = addRestart(child.restarts, now, child.spec.restart.withinSeconds * 1000);
    if (intensityExceeded(child.restarts, child.spec.restart)) {
      child.status = 'down';
      child.host = undefined;
      actorGaveUp.inc({ actor: child.spec.id });
      this.strategyLog(child.spec.id).error(
        { restarts: child.restarts.length, within_s: child.spec.restart.withinSeconds },
        'restart intensity exceeded: strategy stays down',
      );
      this.opts.onGiveUp?.(child.spec.id, child.restarts.length);
      return;
    }
    child.status = 'restarting';
    child.restartCount++;
    actorRestarts.inc({ actor: child.spec.id });
    this.strategyLog(child.spec.id).warn({ restart: child.restartCount }, 'restarting strategy');
    await this.launch(child);
  }

  async stopChild(id: string): Promise<void> {
    const child = this.children.get(id);
    if (!child) return;
    child.status = 'stopping';
    this.opts.clock.clearTimeout(child.healthTimer);
    const host = child.host;
    child.host = undefined;
    await host?.stop();
    child.status = 'stopped';
    actorUp.set({ actor: id }, 0);
  }

  /** Removes a child entirely (hot reload of a deleted entry). */
  async removeChild(id: string): Promise<void> {
    await this.stopChild(id);
    this.children.delete(id);
    this.opts.onRemoved?.(id);
  }

  /** Stops every child in reverse start order. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const id of [...this.children.keys()].reverse()) await this.stopChild(id);
  }

  async view(): Promise<ChildView[]> {
    const out: ChildView[] = [];
    for (const c of this.children.values()) {
      const v: ChildView = { id: c.spec.id, status: c.status, restarts: c.restartCount };
      if (c.lastError) v.lastError = c.lastError;
      const h = c.status === 'running' ? await c.host?.health() : undefined;
      if (h) v.health = h;
      out.push(v);
    }
    return out;
  }

  status(id: string): ChildStatus | undefined {
    return this.children.get(id)?.status;
  }
}
