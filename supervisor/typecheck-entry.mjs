// A short-lived worker that type-checks strategy modules with the TypeScript compiler API (tsx,
// which loads them, strips types without checking). Off the main thread: a check takes seconds
// and the broker's event loop must not wait for it.
import { parentPort, workerData } from 'node:worker_threads';
import { dirname } from 'node:path';

const { files, tsconfig } = workerData;
try {
  const ts = (await import('typescript')).default;
  const read = ts.readConfigFile(tsconfig, ts.sys.readFile);
  // Named, so type roots are found from the tsconfig's folder rather than the process's working directory.
  const parsed = ts.parseJsonConfigFileContent(read.config ?? {}, ts.sys, dirname(tsconfig), undefined, tsconfig);
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
  const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
  // An error with no file is the environment's (a missing @types package, a bad tsconfig), not
  // the module's: that is "could not check", never a refusal of a good module.
  const global = errors.find((d) => !d.file);
  if (global) throw new Error(ts.flattenDiagnosticMessageText(global.messageText, ' '));
  const diagnostics = errors
    .filter((d) => !d.file.fileName.includes('/node_modules/'))
    .slice(0, 20)
    .map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      return { file: d.file?.fileName, line: where ? where.line + 1 : undefined, message: `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}` };
    });
  parentPort.postMessage({ ok: true, diagnostics });
} catch (e) {
  parentPort.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) });
}
