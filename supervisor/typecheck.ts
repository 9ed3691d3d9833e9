import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { compiledWorkerExecArgv } from './worker-exec-argv.ts';

const entry = fileURLToPath(new URL('./typecheck-entry.mjs', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../tsconfig.json', import.meta.url));

export type TypeDiagnostic = { file?: string; line?: number; message: string };
export type TypeCheckResult =
  | { ok: true }
  | { ok: false; diagnostics: TypeDiagnostic[] }
  /** The check could not run (no compiler installed, the deadline passed): `reason` says which. */
  | { ok: 'unchecked'; reason: string };

/**
 * Type-checks TypeScript strategy modules (and what they import) with the repo's compiler
 * options, in a worker thread, within `timeoutMs`. Modules that are not `.ts` are not checked.
 */
export async function typecheckModules(files: readonly string[], o: { timeoutMs?: number; tsconfig?: string } = {}): Promise<TypeCheckResult> {
  const ts = files.filter((f) => /\.(m|c)?tsx?$/.test(f));
  if (ts.length === 0) return { ok: true };
  const timeoutMs = o.timeoutMs ?? 30_000;
  return new Promise<TypeCheckResult>((resolve) => {
    // Plain JavaScript: no module loader flag (supervisor/worker-exec-argv.ts).
    const execArgv = compiledWorkerExecArgv();
    const worker = new Worker(entry, { workerData: { files: ts, tsconfig: o.tsconfig ?? TSCONFIG }, env: {}, stdout: true, stderr: true, ...(execArgv ? { execArgv } : {}) });
    let settled = false;
    const done = (r: TypeCheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: 'unchecked', reason: `the type check did not finish within ${timeoutMs} ms` }), timeoutMs);
    worker.once('message', (m: { ok: true; diagnostics: TypeDiagnostic[] } | { ok: false; error: string }) => {
      if (!m.ok) done({ ok: 'unchecked', reason: `the type check could not run: ${m.error}` });
      else done(m.diagnostics.length ? { ok: false, diagnostics: m.diagnostics } : { ok: true });
    });
    worker.once('error', (e) => done({ ok: 'unchecked', reason: `the type check could not run: ${e.message}` }));
    worker.once('exit', (code) => done({ ok: 'unchecked', reason: `the type check worker exited with ${code}` }));
  });
}
