import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ORCH = join(repoRoot, 'bin', 'orch.js');

/** One `orch` command in a process of its own, as an operator would run it on a host. */
export type OrchProcess = {
  name: string;
  child: ChildProcess;
  pid: number;
  /** stdout and stderr so far (also written to `logFile`). */
  output(): string;
  running(): boolean;
  exited: Promise<void>;
  /** Resolves once the output matches `pattern`; rejects naming `what` on a timeout or an early exit. */
  waitFor(pattern: RegExp, what: string, timeoutMs?: number): Promise<void>;
  /** SIGKILL, resolved once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (a clean stop), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
};

/** The caller's environment less anything that would point an orch process elsewhere (a real account, another NATS). */
export function cleanEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/^(KITE_|KALSHI_|NATS_URL$|ORCH_)/.test(k)));
}

export function spawnOrch(o: { name: string; args: string[]; cwd: string; env: NodeJS.ProcessEnv; logFile: string }): OrchProcess {
  const child = spawn(process.execPath, [ORCH, ...o.args], { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const file = createWriteStream(o.logFile, { flags: 'a' });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (b: Buffer) => {
    out += b.toString();
    // Enough to find a start-up line in; the whole output is in the log file.
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
    file.write(b);
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    file.end();
    for (const w of waiters) w();
    resolve();
  }));
  // Whatever ends this process (a test's forced exit, an error), no orch process outlives it.
  const reap = () => void child.kill('SIGKILL');
  process.once('exit', reap);
  void exited.then(() => process.off('exit', reap));
  const running = () => child.exitCode === null && child.signalCode === null;
  const p: OrchProcess = {
    name: o.name,
    child,
    pid: child.pid!,
    output: () => out,
    running,
    exited,
    waitFor: (pattern, what, timeoutMs = 90_000) => new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(out)) done();
        else if (!running()) done(new Error(`${o.name} exited (${child.exitCode ?? child.signalCode}) before ${what}; its log: ${o.logFile}\n${out.slice(-3_000)}`));
      };
      const timer = setTimeout(() => done(new Error(`${o.name}: no ${what} within ${timeoutMs} ms; its log: ${o.logFile}\n${out.slice(-3_000)}`)), timeoutMs);
      const done = (e?: Error) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (e) reject(e);
        else resolve();
      };
      waiters.add(check);
      check();
    }),
    kill9: async () => {
      if (!running()) return;
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    },
    stop: async (graceMs = 20_000) => {
      if (!running()) return;
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const late = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(late);
    },
  };
  return p;
}
