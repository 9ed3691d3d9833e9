const LOADER_FLAGS = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r']);

/**
 * The Node flags of a worker thread that runs compiled JavaScript (a strategy's worker, the kill
 * relay): none when this process was started with a module loader on its command line (`node
 * --import tsx`, as the tests and the benchmarks run), else the process's own, inherited as
 * usual (`undefined`). Such a worker needs no loader, and on Node 20 a worker that inherits one
 * starts a module-hooks thread of its own and loads the loader there: about 0.2 s of CPU and a
 * second isolate per worker, which `orch` itself never pays (bin/orch.js registers its loader in
 * code, not as a flag). So the tests run the workers as production does, and faster.
 */
export function compiledWorkerExecArgv(execArgv: readonly string[] = process.execArgv): string[] | undefined {
  const hasLoader = execArgv.some((a) => LOADER_FLAGS.has(a) || [...LOADER_FLAGS].some((f) => a.startsWith(`${f}=`)));
  // Not the rest of the flags: a worker refuses process-wide ones (--max-old-space-size) given explicitly.
  return hasLoader ? [] : undefined;
}
