import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';

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
};

export async function launchNatsServer(opts: LaunchOptions): Promise<NatsProcess> {
  await mkdir(opts.storeDir, { recursive: true });
  const args = ['-c', opts.configFile, '-a', opts.host ?? '127.0.0.1', '-p', String(opts.port ?? -1), '-js', ...(opts.storeDirInConfig ? [] : ['--store_dir', opts.storeDir])];
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
