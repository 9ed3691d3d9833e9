import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './specs.ts';
import { freePort } from './wait.ts';

/** A JSON log line of orch, with the fields the tests read. */
export type OrchLine = { pid?: number; strategiesPid?: number; actor?: string; msg?: string; [field: string]: unknown };

/** Paper trading: no account variables and no NATS settings of the caller's. */
export function paperEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KITE_|KALSHI_|NATS_URL$|ORCH_)/.test(k)));
}

/**
 * `orch start` in `cwd` on free ports, as `npm start` runs it: the broker in the process started
 * here, the strategies in a permission-restricted process of their own
 * (supervisor/strategies-process.ts). `args` come after the ports (`omitStrategiesPort`: no
 * --strategies-metrics-port, for --strategies-in-broker-process). `lines()` are both processes'
 * JSON log lines so far; `output()` everything either wrote.
 */
export async function startOrch(cwd: string, registry: string, o: { env?: NodeJS.ProcessEnv; args?: readonly string[]; omitStrategiesPort?: boolean } = {}) {
  const args = o.args ?? [];
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'orch.js'), 'start', '--config', registry, '--log-format', 'json',
    ...(args.includes('--summary-interval') ? [] : ['--summary-interval', '0']),
    '--nats-port', String(await freePort()), '--metrics-port', String(await freePort()),
    ...(o.omitStrategiesPort ? [] : ['--strategies-metrics-port', String(await freePort())]), ...args],
  { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...paperEnv(), ...o.env } });
  let out = '';
  child.stdout.on('data', (b: Buffer) => void (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => void (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const reap = () => void child.kill('SIGKILL');
  process.once('exit', reap);
  return {
    pid: child.pid!,
    exited,
    output: () => out,
    lines: () => out.split('\n').flatMap((l): OrchLine[] => { try { return [JSON.parse(l) as OrchLine]; } catch { return []; } }),
    /** SIGTERM (the launcher stops the strategies process, then the broker), SIGKILL after 30 s; its exit code. */
    stop: async () => {
      process.off('exit', reap);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const late = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(late);
      }
      return exited;
    },
  };
}
