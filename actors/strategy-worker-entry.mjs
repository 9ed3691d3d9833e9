// Plain JavaScript on purpose: the worker loads no TypeScript loader. The supervisor compiles
// the worker's code and the strategy's module (supervisor/worker-code.ts) and sends both with
// the task, so this thread gets no module-hooks thread and compiles nothing itself.
process.setSourceMapsEnabled(true);

/** @param {{ workerCode: string }} task */
export default async function runCompiled(task) {
  const { default: run } = await import(task.workerCode);
  return run(task);
}
