import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { StrategySpec } from '../config/registry.ts';
import { deadLetters } from '../actors/bus.ts';
import { tickSlotsBytes } from '../actors/tick-slots.ts';
import { compileModule } from './worker-code.ts';
import { compiledWorkerExecArgv } from './worker-exec-argv.ts';
import type { HubCommand, HubReport, HubStart } from './md-hub-protocol.ts';

export type MarketDataHubOptions = {
  natsUrl: string;
  /** The supervisor's NATS user, when the server enforces permissions (it may read `orch.md.>`). */
  user?: string;
  pass?: string;
  tlsCaFile?: string;
  log: Logger;
};

/** A worker's market data: its buffer (actors/tick-slots.ts) and the call that ends it when the worker ends. */
export type MarketDataFeed = { buffer: SharedArrayBuffer; release(): void };

const START_MS = 30_000;
const hubSource = fileURLToPath(new URL('./md-hub-worker.ts', import.meta.url));

/**
 * The per-host fan-out of market data (docs/latency.md, "Capacity"; docs/market-data.md). One
 * NATS subscription per instrument that some strategy of this process trades, in a thread and
 * on a connection of its own (supervisor/md-hub-worker.ts), instead of one per worker: each
 * tick crosses the socket once, is checked once, and reaches the workers that trade it as
 * bytes in shared memory with a wake-up for those that are idle. Instruments are subscribed
 * while some running worker trades them: a strategy that starts, restarts, reloads or is
 * removed changes only its own slots.
 */
export class MarketDataHub {
  private worker: Worker | undefined;
  private nextFeed = 1;
  private readonly feeds = new Map<number, HubCommand & { type: 'attach' }>();
  private subjectsAsked: ((s: string[]) => void)[] = [];

  constructor(private readonly opts: MarketDataHubOptions) {}

  /** Resolves once the hub's thread is connected and listening. */
  async start(): Promise<void> {
    const code = await compileModule(hubSource);
    const data: HubStart = { natsUrl: this.opts.natsUrl, ...(this.opts.user ? { user: this.opts.user } : {}), ...(this.opts.pass ? { pass: this.opts.pass } : {}), ...(this.opts.tlsCaFile ? { tlsCaFile: this.opts.tlsCaFile } : {}) };
    const execArgv = compiledWorkerExecArgv();
    const worker = new Worker(new URL(code.url), { workerData: data, ...(execArgv ? { execArgv } : {}) });
    this.worker = worker;
    try {
      await new Promise<void>((resolve, reject) => {
        const late = setTimeout(() => { void worker.terminate(); reject(new Error(`the market-data hub could not connect to NATS at ${this.opts.natsUrl} within ${START_MS / 1000} s`)); }, START_MS);
        worker.once('error', (e) => { clearTimeout(late); reject(e); });
        worker.once('exit', (c) => reject(new Error(`the market-data hub's thread ended while starting (exit ${c})`)));
        worker.on('message', (r: HubReport) => {
          if (r.type === 'ready') { clearTimeout(late); resolve(); }
          else this.onReport(r);
        });
      });
    } finally {
      await code.release();
    }
    worker.removeAllListeners('exit');
    worker.removeAllListeners('error');
    worker.on('error', (err) => this.opts.log.error({ err }, 'market-data hub thread failed'));
    // Without its thread no strategy of this process gets a tick: a new one takes over the
    // same buffers (their counts go on, actors/tick-slots.ts) and catches up.
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.opts.log.error({ code }, 'market-data hub thread ended: starting a new one');
      void this.start().catch((err: unknown) => this.opts.log.error({ err }, 'market-data hub not restarted: strategies get no ticks'));
    });
    for (const f of this.feeds.values()) this.send(f);
  }

  private onReport(r: HubReport): void {
    const { log } = this.opts;
    if (r.type === 'invalid') log.warn({ error: r.error }, 'market-data hub: invalid command');
    if (r.type === 'dead-letter') {
      // The hub's thread has its own metric registry, which nobody scrapes: counted here.
      deadLetters.inc({ subject: r.subject });
      log.warn({ subject: r.subject, error: r.error, bytes: r.bytes }, 'payload dead-lettered');
    }
    if (r.type === 'subscription-error') log.error({ subject: r.subject, err: r.error }, 'market data subscription refused: the strategies trading this instrument get no ticks');
    if (r.type === 'catch-up-failed') log.warn({ venue: r.venue, err: r.error }, 'last ticks not received; the next live tick brings the market');
    if (r.type === 'subjects') { const asked = this.subjectsAsked; this.subjectsAsked = []; for (const a of asked) a(r.subjects); }
  }

  /** Slots for `spec`'s instruments, written from now on until `release`. */
  attach(spec: Pick<StrategySpec, 'venue' | 'instruments'>): MarketDataFeed {
    const feedId = this.nextFeed++;
    const symbols = [...spec.instruments];
    const buffer = new SharedArrayBuffer(tickSlotsBytes(symbols.length));
    const cmd = { type: 'attach' as const, feedId, venue: spec.venue, symbols, buffer };
    this.feeds.set(feedId, cmd);
    this.send(cmd);
    let released = false;
    return {
      buffer,
      release: () => {
        if (released) return;
        released = true;
        this.feeds.delete(feedId);
        this.send({ type: 'detach', feedId });
      },
    };
  }

  /** The subjects the hub subscribes to now, sorted (none while its thread is being replaced). */
  subjects(): Promise<string[]> {
    return new Promise((resolve) => {
      if (!this.worker) return resolve([]);
      this.subjectsAsked.push(resolve);
      this.send({ type: 'subjects' });
    });
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (!w) return;
    const exited = new Promise<void>((r) => w.once('exit', () => r()));
    w.postMessage({ type: 'stop' } satisfies HubCommand);
    const late = setTimeout(() => void w.terminate(), 2_000);
    await exited;
    clearTimeout(late);
  }

  private send(c: HubCommand): void {
    this.worker?.postMessage(c);
  }
}
