// Worker threads on Node 20 do not inherit the TypeScript loader from the parent's flags,
// so the worker registers it itself before loading the real task module.
import { register } from 'tsx/esm/api';

register();
const { default: run } = await import('./strategy-worker.ts');
export default run;
