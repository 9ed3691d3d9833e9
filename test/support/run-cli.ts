import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './specs.ts';

export type CliResult = { code: number | null; stdout: string; stderr: string };

/**
 * Runs `node bin/orch.js ...` as the operator would. Asynchronous on purpose: the system under
 * test runs in this process and must keep answering while the CLI waits.
 */
export function orch(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
    if (!opts.env?.NATS_URL) delete env.NATS_URL;
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'orch.js'), ...args], { cwd: opts.cwd ?? repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
