import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process-wide Prometheus registry. Modules register their own `orch_` metrics on it;
 * metrics from worker threads are forwarded over NATS and merged by the supervisor.
 */
export const registry = new Registry();
let defaultsOn = false;

export function enableDefaultMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry, prefix: 'orch_process_' });
}

import { catalogue } from './metric-catalogue.ts';
/** The catalogue's metric objects on the process registry (docs/metrics.md). */
export const metrics = catalogue(registry);
