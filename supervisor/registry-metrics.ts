import type { Logger } from 'pino';
import { metrics } from '../actors/metrics.ts';
import { forgetStrategy, seedStrategy } from '../actors/metric-series.ts';
import type { LoadedConfig } from '../config/registry.ts';

/** Added strategies' series start at 0; a removed strategy's series go with it. */
export function followRegistryMetrics(next: LoadedConfig, previous: LoadedConfig, forgetActor: (id: string) => void, log: Logger): void {
  for (const st of next.strategies) seedStrategy(metrics, st);
  const kept = new Set(next.strategies.map((st) => st.id));
  for (const st of previous.strategies) {
    if (kept.has(st.id)) continue;
    forgetActor(st.id);
    forgetStrategy(metrics, st.id).catch((err: unknown) => log.warn({ err, strategy: st.id }, 'could not drop the series of a removed strategy'));
  }
}

