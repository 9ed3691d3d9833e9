import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  /**
   * The config file sets `store_dir` itself (as supervisor/nats-auth.ts can generate), so no
   * `--store_dir` flag is passed: nats-server 2.9 refuses a config reload (SIGHUP) when the
   * store dir came from the command line.
   */
  storeDirInConfig?: boolean;
};

/** Starts a real nats-server with JetStream from the repo's nats.conf on a free port. */
export async function startNatsServer(opts: StartNatsOptions = {}): Promise<NatsServerHandle> {
  const storeDir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), 'orch-nats-')));
  const configFile = opts.configFile ?? join(repoRoot, 'nats.conf');
  const args = ['-c', configFile, '-a', '127.0.0.1', '-p', String(opts.port ?? -1), '-js', ...(opts.storeDirInConfig ? [] : ['--store_dir', storeDir])];
  const child = spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const port = await new Promise<number>((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const m = /Listening for client connections on [^\s]+:(\d+)/.exec(log);
      if (m && /Server is ready/.test(log)) {
        child.stderr?.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}: ${log}`)));
    child.once('error', reject);
  });
  // Keep draining output so the child never blocks on a full pipe.
  child.stderr?.resume();
  child.stdout?.resume();
  const handle: NatsServerHandle = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    process: child,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
    restart: () => startNatsServer({ ...opts, storeDir, port }),
    async cleanup() {
      await handle.stop();
      if (!opts.storeDir) await rm(storeDir, { recursive: true, force: true });
    },
  };
  return handle;
}
