import { MessageChannel } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { wrap, releaseProxy, type Remote } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { ActorControl, StrategyTask } from '../actors/strategy-worker.ts';
import type { LogFormat } from '../actors/log-format.ts';
import type { InitialKill } from '../actors/strategy-actor.ts';
import type { Health } from '../actors/messages.ts';
import type { StrategySpec, StrategyEnv } from '../config/registry.ts';
import { isSecretEnvName } from '../config/secret-names.ts';
import { compileModule, compiledWorkerCode } from './worker-code.ts';
import { compiledWorkerExecArgv } from './worker-exec-argv.ts';
import type { MarketDataFeed } from './md-hub.ts';

const workerFile = fileURLToPath(new URL('../actors/strategy-worker-entry.mjs', import.meta.url));

/**
 * A worker's young generation when the registry sets none. V8's default reserves 16 MB of new
 * space per isolate and a strategy under load fills most of it with short-lived tick objects
 * (12 MB resident of which 4 MB live, docs/latency.md "Memory per worker"); 8 MB keeps every
 * worker's live set with more frequent, shorter scavenges.
 */
export const DEFAULT_YOUNG_GENERATION_MB = 8;


export type HostOptions = {
  natsUrl: string;
  natsUser?: string;
  natsPass?: string;
  /** CA of a NATS cluster's TLS certificates (actors/bus.ts); a worker has no ORCH_NATS_CA in its environment. */
  natsCaFile?: string;
  logLevel?: string;
  /** The worker's log: readable lines or JSON (default JSON), like the supervisor's. */
  logFormat?: LogFormat;
  logColor?: boolean;
  /** Reads the strategy's effective kill level at launch; the actor knows it before it subscribes. */
  killLevel?: (strategyId: string) => InitialKill;
  /** The strategy's kill gate shared with this thread (supervisor/kill-relay.ts). */
  killGate?: (strategyId: string) => SharedArrayBuffer;
  /**
   * The worker's market data from the host's hub (supervisor/md-hub.ts), released when the
   * worker ends. Without it the worker subscribes to its instruments itself.
   */
  marketData?: (spec: StrategySpec) => MarketDataFeed;
};

/**
 * The worker's whole environment: what the registry entry passes, nothing else. A worker
 * otherwise starts with a copy of process.env, and a strategy once read the venue secrets
 * there and called the venue directly, past the risk gate and the kill switch.
 */
export function workerEnv(entry: StrategyEnv | undefined, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (!entry) return {};
  const pairs = Array.isArray(entry) ? entry.map((k) => [k, parent[k]] as const) : Object.entries(entry);
  // The registry refuses secret names already; this keeps a spec built in code to the same rule.
  return Object.fromEntries(pairs.filter((p): p is readonly [string, string] => p[1] !== undefined && !isSecretEnvName(p[0])));
}

/**
 * One strategy in one worker thread: a single-thread piscina pool running one long task.
 * A fresh host means a fresh worker and a fresh module cache.
 */
export class StrategyHost {
  private pool: Piscina | undefined;
  private remote: Remote<ActorControl> | undefined;
  /** Settles when the task ends: resolves on a clean stop, rejects on a crash. */
  task: Promise<unknown> = Promise.resolve();
  /** Why this host ended its worker itself (a hang): what the task rejects with. */
  private terminatedFor: Error | undefined;
  private feed: MarketDataFeed | undefined;

  constructor(
    readonly spec: StrategySpec,
    private readonly opts: HostOptions,
  ) {}

  async start(): Promise<void> {
    // Compiled now, from the files as they are: a restart or reload runs the module as it is now.
    const [workerCode, compiled] = await Promise.all([compiledWorkerCode(), compileModule(this.spec.module)]);
    try {
      await this.startWorker(workerCode, compiled.url);
    } finally {
      // Loaded by now (the actor answers start after importing it), or never to be.
      await compiled.release();
    }
  }

  private async startWorker(workerCode: string, moduleUrl: string): Promise<void> {
    const r = this.spec.resources;
    const execArgv = compiledWorkerExecArgv();
    this.pool = new Piscina({
      filename: workerFile,
      minThreads: 1,
      maxThreads: 1,
      ...(execArgv ? { execArgv } : {}),
      // Parked idle workers would freeze the actor's NATS socket: no atomics.
      atomics: 'disabled',
      idleTimeout: Number.MAX_SAFE_INTEGER,
      concurrentTasksPerWorker: 1,
      env: workerEnv(this.spec.env),
      resourceLimits: {
        maxOldGenerationSizeMb: r.maxOldGenerationSizeMb,
        maxYoungGenerationSizeMb: r.maxYoungGenerationSizeMb ?? DEFAULT_YOUNG_GENERATION_MB,
        ...(r.stackSizeMb ? { stackSizeMb: r.stackSizeMb } : {}),
      },
    });
    // A crashed worker is replaced by piscina; that replacement is idle and unused here.
    this.pool.on('error', () => undefined);
    const { port1, port2 } = new MessageChannel();
    const task: StrategyTask = { port: port2, spec: this.spec, workerCode, moduleUrl, natsUrl: this.opts.natsUrl };
    if (this.opts.natsUser) task.natsUser = this.opts.natsUser;
    if (this.opts.natsPass) task.natsPass = this.opts.natsPass;
    if (this.opts.natsCaFile) task.natsCaFile = this.opts.natsCaFile;
    // The worker has no ORCH_LOG_LEVEL of its own (its environment is the entry's only).
    const logLevel = this.opts.logLevel ?? process.env.ORCH_LOG_LEVEL;
    if (logLevel) task.logLevel = logLevel;
    if (this.opts.logFormat) task.logFormat = this.opts.logFormat;
    if (this.opts.logColor) task.logColor = true;
    if (this.opts.killLevel) task.initialKill = this.opts.killLevel(this.spec.id);
    if (this.opts.killGate) task.killGate = this.opts.killGate(this.spec.id);
    if (this.opts.marketData) {
      this.feed = this.opts.marketData(this.spec);
      task.marketData = this.feed.buffer;
    }
    this.task = this.pool.run(task, { transferList: [port2] as never }).catch((e: unknown) => { throw this.terminatedFor ?? e; });
    this.task.catch(() => undefined); // observed by the supervisor through `task`
    this.remote = wrap<ActorControl>(nodeEndpoint(port1));
    // If the worker dies while starting, the comlink call would wait forever; if it never
    // answers (a module that loops while loading), the deadline ends it.
    const startMs = this.spec.health.startSeconds * 1000;
    try {
      await withTimeout(Promise.race([this.remote.start(), this.task.then(() => { throw new Error('strategy ended during start'); })]), startMs);
    } catch (e) {
      if (!(e instanceof DeadlinePassed)) throw e;
      await this.terminate(`did not start within ${startMs} ms (a module that never finishes loading, or a busy loop): worker terminated`);
      throw this.terminatedFor;
    }
  }

  /**
   * Ends a worker that does not answer (a CPU loop answers nothing, and cannot be asked to
   * stop): its task rejects with `reason`, which the supervisor takes as a crash.
   */
  async terminate(reason: string): Promise<void> {
    this.terminatedFor ??= new Error(reason);
    this.remote = undefined;
    await this.pool?.destroy().catch(() => undefined);
    this.pool = undefined;
    this.releaseFeed();
  }

  /** The worker is gone: the hub writes no more into its slots. */
  private releaseFeed(): void {
    this.feed?.release();
    this.feed = undefined;
  }

  async health(timeoutMs = 1000): Promise<Health | undefined> {
    if (!this.remote) return undefined;
    return withTimeout(this.remote.health() as Promise<Health>, timeoutMs).catch(() => undefined);
  }

  /** Asks the actor to stop; past the timeout the worker is terminated. */
  async stop(timeoutMs = 5000): Promise<void> {
    try {
      if (this.remote) await withTimeout(Promise.race([this.remote.stop(), this.task.then(() => undefined)]), timeoutMs);
      await withTimeout(this.task.catch(() => undefined), timeoutMs);
    } catch {
      // fall through to terminate
    } finally {
      this.remote?.[releaseProxy]();
      this.remote = undefined;
      await this.pool?.destroy().catch(() => undefined);
      this.pool = undefined;
      this.releaseFeed();
    }
  }

  /** Tears down after a crash: the task already failed, only the pool remains. */
  async dispose(): Promise<void> {
    this.remote = undefined;
    await this.pool?.destroy().catch(() => undefined);
    this.pool = undefined;
    this.releaseFeed();
  }
}

class DeadlinePassed extends Error {}

/**
 * Real time, not the injected clock: these bound how long a worker thread takes to answer,
 * which only the wall clock measures (a test clock driven faster would kill healthy workers).
 */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new DeadlinePassed(`timed out after ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}
