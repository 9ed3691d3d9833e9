// A short-lived worker that validates the registry with fresh module caches: Node caches
// modules per thread, so the main thread would keep seeing the code it loaded at start.
import { register } from 'tsx/esm/api';

register();
await import('./reload-probe.ts');
