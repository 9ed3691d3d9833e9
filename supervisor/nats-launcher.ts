import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export type NatsProcess = { url: string; port: number; process: ChildProcess; stop(signal?: NodeJS.Signals): Promise<void> };

/**
 * Starts nats-server from a config file and resolves once it accepts clients. `port: -1`
 * lets the server pick a free port, read back from its log.
 */
export type LaunchOptions = {
  configFile: string;
  storeDir: string;
  port?: number;
  host?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * The config file sets `store_dir` itself (as supervisor/nats-auth.ts generates), so no
   * `--store_dir` flag is passed: nats-server 2.9 refuses a config reload (SIGHUP) when the
   * store dir came from the command line.
   */
  storeDirInConfig?: boolean;
  /**
   * Run nats-server in its own process group with this pid file: a terminal's Ctrl-C then reaches
   * only the orchestrator, which stops nats-server last, after the broker has flushed its log.
   * A server left behind by a crashed run (its pid file says so) is stopped before a new one starts.
   */
  pidFile?: string;
};

/** Where the orchestrator's own nats-server writes its pid. */
export const natsPidFile = (stateDir: string) => join(stateDir, 'nats', 'nats.pid');

/** Stops a nats-server a crashed earlier run left behind, found through its pid file. */
export async function stopLeftover(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0) return;
  let cmd = '';
  try {
    cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return; // not running
  }
  if (!cmd.includes('nats-server') || !cmd.includes(pidFile)) return; // the pid was reused by something else
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  process.kill(pid, 'SIGKILL');
}

export async function launchNatsServer(opts: LaunchOptions): Promise<NatsProcess> {
  await mkdir(opts.storeDir, { recursive: true });
  if (opts.pidFile) await stopLeftover(opts.pidFile);
  const args = [
    '-c', opts.configFile, '-a', opts.host ?? '127.0.0.1', '-p', String(opts.port ?? -1), '-js',
    ...(opts.storeDirInConfig ? [] : ['--store_dir', opts.storeDir]),
    ...(opts.pidFile ? ['--pid', opts.pidFile] : []),
  ];
  const child = spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env }, detached: opts.pidFile !== undefined });
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
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}: ${log.trim().split('\n').slice(-3).join(' | ')}`)));
    child.once('error', (e) => reject(new Error(`cannot start nats-server (${e.message}); install it: apt-get install nats-server`)));
  });
  // Keep draining output so the child never blocks on a full pipe.
  child.stderr?.resume();
  child.stdout?.resume();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    process: child,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
  };
}
