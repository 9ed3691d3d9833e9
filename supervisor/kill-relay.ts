import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { KillLevel } from '../actors/messages.ts';
import { KillGate } from '../actors/kill-gate.ts';
import { compileModule } from './worker-code.ts';
import { compiledWorkerExecArgv } from './worker-exec-argv.ts';
import type { RelayCommand, RelayReport, RelayStart } from './kill-relay-protocol.ts';

export type KillRelayOptions = {
  natsUrl: string;
  /** The supervisor's NATS user, when the server enforces permissions. */
  user?: string;
  pass?: string;
  tlsCaFile?: string;
  log: Logger;
  /** The levels stored for a strategy when its gate is first made (before its first launch). */
  initial: (strategyId: string) => { global: KillLevel; own: KillLevel; revision: number };
};

const START_MS = 30_000;
const relaySource = fileURLToPath(new URL('./kill-relay-worker.ts', import.meta.url));

/**
 * The supervisor's end of the kill gates (actors/kill-gate.ts). A thread of its own, with a NATS
 * connection of its own (supervisor/kill-relay-worker.ts), takes every kill broadcast once,
 * updates the shared gate of each strategy this supervisor hosts, and acknowledges for that
 * strategy (`via: gate`) as soon as the store is done. Neither waits on the main thread, which
 * carries the market data, the intents and the venues (docs/kill-switch.md, "Fast path"). A
 * gate outlives its worker: a restarted actor gets the same one, already current.
 */
export class KillRelay {
  private readonly gates = new Map<string, KillGate>();
  private worker: Worker | undefined;

  constructor(private readonly opts: KillRelayOptions) {}

  /** Resolves once the relay's thread is connected and subscribed. */
  async start(): Promise<void> {
    const code = await compileModule(relaySource);
    const data: RelayStart = { natsUrl: this.opts.natsUrl, ...(this.opts.user ? { user: this.opts.user } : {}), ...(this.opts.pass ? { pass: this.opts.pass } : {}), ...(this.opts.tlsCaFile ? { tlsCaFile: this.opts.tlsCaFile } : {}) };
    // Its environment is the process's (ORCH_NATS_CA for a TLS cluster): it runs our code, no strategy's.
    const execArgv = compiledWorkerExecArgv();
    const worker = new Worker(new URL(code.url), { workerData: data, ...(execArgv ? { execArgv } : {}) });
    this.worker = worker;
    try {
      await new Promise<void>((resolve, reject) => {
        // A relay that cannot reach NATS must fail the start, not hold it forever.
        const late = setTimeout(() => { void worker.terminate(); reject(new Error(`the kill relay could not connect to NATS at ${this.opts.natsUrl} within ${START_MS / 1000} s`)); }, START_MS);
        worker.once('error', (e) => { clearTimeout(late); reject(e); });
        worker.once('exit', (c) => reject(new Error(`the kill relay's thread ended while starting (exit ${c})`)));
        worker.on('message', (r: RelayReport) => {
          if (r.type === 'ready') { clearTimeout(late); resolve(); }
          if (r.type === 'invalid') this.opts.log.warn({ error: r.error }, 'kill relay: invalid message');
        });
      });
    } finally {
      await code.release();
    }
    worker.removeAllListeners('exit');
    worker.removeAllListeners('error');
    worker.on('error', (err) => this.opts.log.error({ err }, 'kill relay thread failed'));
    // Its gates are already shared: hand them to the new thread.
    for (const [id, gate] of this.gates) this.send({ type: 'gate', strategyId: id, buffer: gate.buffer });
  }

  /** The shared memory of `strategyId`'s gate, made and seeded on first use. */
  gateOf(strategyId: string): SharedArrayBuffer {
    let gate = this.gates.get(strategyId);
    if (!gate) {
      gate = new KillGate();
      const i = this.opts.initial(strategyId);
      gate.seed(i.global, i.own, i.revision);
      this.gates.set(strategyId, gate);
      this.send({ type: 'gate', strategyId, buffer: gate.buffer });
    }
    return gate.buffer;
  }

  /** A strategy removed from the registry: no more acknowledgements in its name. */
  forget(strategyId: string): void {
    this.gates.delete(strategyId);
    this.send({ type: 'forget', strategyId });
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (!w) return;
    const exited = new Promise<void>((r) => w.once('exit', () => r()));
    w.postMessage({ type: 'stop' } satisfies RelayCommand);
    const late = setTimeout(() => void w.terminate(), 2_000);
    await exited;
    clearTimeout(late);
  }

  private send(c: RelayCommand): void {
    this.worker?.postMessage(c);
  }
}
