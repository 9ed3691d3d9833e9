import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './specs.ts';
import { freePort } from './wait.ts';

/** A JSON log line of orch, with the fields the permission tests read. */
export type OrchLine = { pid?: number; strategiesPid?: number; actor?: string; msg?: string; [field: string]: unknown };

/** Paper trading: no account variables and no NATS settings of the caller's. */
export function paperEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KITE_|KALSHI_|NATS_URL$|ORCH_)/.test(k)));
}

/**
 * `orch start --isolate-strategies` in `cwd` on free ports: the broker here, the strategies in a
 * permission-restricted process of their own (supervisor/strategies-process.ts). `lines()` are
 * both processes' JSON log lines so far; `output()` everything either wrote.
 */
export async function startIsolatedOrch(cwd: string, registry: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'orch.js'), 'start', '--isolate-strategies', '--config', registry, '--log-format', 'json', '--summary-interval', '0',
    '--nats-port', String(await freePort()), '--metrics-port', String(await freePort()), '--strategies-metrics-port', String(await freePort())], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...paperEnv(), ...env } });
  let out = '';
  child.stdout.on('data', (b: Buffer) => void (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => void (out += b.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  const reap = () => void child.kill('SIGKILL');
  process.once('exit', reap);
  return {
    output: () => out,
    lines: () => out.split('\n').flatMap((l): OrchLine[] => { try { return [JSON.parse(l) as OrchLine]; } catch { return []; } }),
    /** SIGTERM (the launcher stops the strategies process, then the broker), SIGKILL after 30 s. */
    stop: async () => {
      process.off('exit', reap);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const late = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(late);
    },
  };
}
