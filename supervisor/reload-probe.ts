/**
 * Runs inside the probe worker: loads the registry and every strategy module as they are on
 * disk now, validates each entry's params with the module's own schema, and posts the result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError, loadConfig } from './config.ts';
import { importStrategyModuleFrom, type ModuleLoader } from '../actors/strategy-contract.ts';
import { compileModule } from './worker-code.ts';

const { file, compileDir } = workerData as { file: string; compileDir?: string };
// Each module is announced before it is imported: one that loops or allocates without end
// while loading is named by the parent, which ends this thread at its deadline or heap limit.
let index = 0;
const announce: ModuleLoader = async (absPath) => {
  parentPort!.postMessage({ loading: { index: index++, module: absPath } });
  // Compiled as the strategy's worker will load it (supervisor/worker-code.ts): what passes here
  // runs there. As a data: URL: this thread may be ended mid-load, which would leave a file; a
  // process that may write only its compile folder writes there (its launcher removes it).
  const compiled = await compileModule(absPath, compileDir ?? null);
  try {
    return await importStrategyModuleFrom(compiled.url);
  } finally {
    await compiled.release();
  }
};
try {
  const config = await loadConfig(file, announce);
  parentPort!.postMessage({ ok: true, config });
} catch (e) {
  const err = e instanceof ConfigError
    ? { file: e.file, line: e.line, field: e.field, message: e.message }
    : { file, field: '(probe)', message: `${file}: ${(e as Error).message}` };
  parentPort!.postMessage({ ok: false, error: err });
}
