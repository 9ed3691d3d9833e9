/**
 * Runs inside the probe worker: loads the registry and every strategy module as they are on
 * disk now, validates each entry's params with the module's own schema, and posts the result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError, loadConfig } from './config.ts';

const file = (workerData as { file: string }).file;
try {
  const config = await loadConfig(file);
  parentPort!.postMessage({ ok: true, config });
} catch (e) {
  const err = e instanceof ConfigError
    ? { file: e.file, line: e.line, field: e.field, message: e.message }
    : { file, field: '(probe)', message: `${file}: ${(e as Error).message}` };
  parentPort!.postMessage({ ok: false, error: err });
}
