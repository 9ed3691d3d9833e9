import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchNatsServer } from '../../supervisor/nats-launcher.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type NatsServerHandle = {
  url: string;
  port: number;
  storeDir: string;
  process: ChildProcess;
  /** Stops the server; pass `signal: 'SIGKILL'` to crash it. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a fresh server process on the same port and store (after a stop). */
  restart(): Promise<NatsServerHandle>;
  cleanup(): Promise<void>;
};

export type StartNatsOptions = {
  /** Extra config file (defaults to the repo's nats.conf). */
  configFile?: string;
  storeDir?: string;
  port?: number;
  env?: NodeJS.ProcessEnv;
  /** The config file sets store_dir itself (see supervisor/nats-launcher.ts). */
  storeDirInConfig?: boolean;
};

/** Starts a real nats-server with JetStream from the repo's nats.conf on a free port, with its own store. */
export async function startNatsServer(opts: StartNatsOptions = {}): Promise<NatsServerHandle> {
  const storeDir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), 'orch-nats-')));
  const nats = await launchNatsServer({
    configFile: opts.configFile ?? join(repoRoot, 'nats.conf'),
    storeDir,
    port: opts.port ?? -1,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.storeDirInConfig ? { storeDirInConfig: true } : {}),
  });
  // A test file ended by --test-force-exit skips its after-hooks: the server must not outlive it.
  const reap = () => void nats.process.kill('SIGKILL');
  process.once('exit', reap);
  nats.process.once('exit', () => process.off('exit', reap));
  const handle: NatsServerHandle = {
    url: nats.url,
    port: nats.port,
    storeDir,
    process: nats.process,
    stop: (signal) => nats.stop(signal),
    restart: () => startNatsServer({ ...opts, storeDir, port: nats.port }),
    async cleanup() {
      await nats.stop();
      if (!opts.storeDir) await rm(storeDir, { recursive: true, force: true });
    },
  };
  return handle;
}
