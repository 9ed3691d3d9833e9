import os from 'node:os';
import { syncBuiltinESMExports } from 'node:module';

/**
 * What a strategy's worker thread is not given, beyond what the permission model of the
 * strategies process refuses (docs/deploy.md, "A strategy process holds no secret"). Node's
 * permission model does not cover signals or priorities (https://nodejs.org/api/permissions.html
 * lists file system, child processes, workers, addons and WASI only), and every process on the
 * host runs as the same OS user: a strategy could SIGKILL or SIGSTOP the broker (its parent
 * process, `process.ppid`) or nats-server, or renice them to 19 behind its own busy loop.
 *
 * So the worker replaces, before the strategy's module is loaded, `process.kill` (and the
 * `process._kill` it calls) and `os.setPriority` with functions that refuse, and fixes them so
 * the strategy cannot put anything back: the originals are reachable only through
 * `process.binding`, which the permission model refuses. The worker lowers its own priority
 * (actors/thread-priority.ts) before this. `process.abort` is not available in a worker thread
 * (https://nodejs.org/api/process.html#processabort) and `process.exit` ends only the worker.
 */
export function lockDownProcessControl(): void {
  const refuse = (what: string) => function refused(): never {
    throw Object.assign(new Error(`${what} is not available to a strategy: it could signal or renice the broker or nats-server`), { code: 'ERR_ACCESS_DENIED' });
  };
  for (const name of ['kill', '_kill'] as const) {
    Object.defineProperty(process, name, { value: refuse(`process.${name}`), writable: false, configurable: false, enumerable: true });
  }
  Object.defineProperty(os, 'setPriority', { value: refuse('os.setPriority'), writable: false, configurable: false, enumerable: true });
  // `import { setPriority } from 'node:os'` reads the module's named exports, not the object: update them.
  syncBuiltinESMExports();
}
