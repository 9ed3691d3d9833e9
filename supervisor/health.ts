import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { registry } from '../actors/metrics.ts';
import { monitorEventLoopLag } from '../actors/metrics-forwarder.ts';
import type { VenueAdapter } from '../broker/venue.ts';
import { startHttp, type HealthReport } from './http.ts';
import { MetricsAggregator } from './metrics-aggregator.ts';
import type { Supervisor } from './supervisor.ts';

export type HealthEndpoint = {
  /** Where Prometheus scrapes. */
  metricsUrl: string;
  /** Drops a removed strategy's last snapshot from its worker thread. */
  forget(strategyId: string): void;
  stop(): Promise<void>;
};

type Common = { nc: NatsConnection; clock: Clock; log: Logger; host: string; port: number; supervisor: Pick<Supervisor, 'view' | 'ids'> };

/**
 * `/metrics` and `/health` over HTTP: worker threads publish their registries over NATS and
 * /metrics serves those of this process's supervisor merged with the main thread's (with its event-loop lag); /health is ok
 * while every venue is connected and every actor running or stopped on purpose.
 */
export async function startHealthEndpoint(o: Common & { adapters: readonly VenueAdapter[] }): Promise<HealthEndpoint> {
  const { adapters, supervisor } = o;
  // This process's workers only: a strategies process elsewhere serves its own (startStrategiesMetrics),
  // and Prometheus would otherwise see each of its workers' series twice.
  return serve(o, undefined, async () => {
    const actors = await supervisor.view();
    return {
      ok: adapters.every((a) => a.connected()) && actors.every((a) => a.status === 'running' || a.status === 'stopped'),
      broker: Object.fromEntries(adapters.map((a) => [a.venue, a.connected()])),
      actors: actors.map((a) => ({ id: a.id, status: a.status, restarts: a.restarts })),
    };
  });
}

/**
 * What a strategies process (`orch start --role strategies`) owns of the catalogue: its
 * supervisor's actor series, its registry reloads, its own event-loop lag and dead letters, and
 * the process metrics. Broker series (kill level, event log, venues) are the broker's /metrics'.
 */
const STRATEGIES_HOST_METRICS = new Set(['orch_actor_up', 'orch_actor_restarts_total', 'orch_actor_gave_up_total', 'orch_ticks_conflated_total', 'orch_config_reload_total', 'orch_event_loop_lag_seconds', 'orch_dead_letters_total']);

/**
 * `/metrics` and `/healthz` of a strategies process: its supervisor's series and the snapshots of
 * its own workers only (other hosts' workers publish on the same subjects; their host serves
 * them). /healthz is ok while every actor here is running or stopped on purpose.
 */
export async function startStrategiesMetrics(o: Common): Promise<HealthEndpoint> {
  const { supervisor } = o;
  return serve(o, (name) => name.startsWith('orch_process_') || STRATEGIES_HOST_METRICS.has(name), async () => {
    const actors = await supervisor.view();
    return { ok: actors.every((a) => a.status === 'running' || a.status === 'stopped'), actors: actors.map((a) => ({ id: a.id, status: a.status, restarts: a.restarts })) };
  });
}

/** The HTTP server both roles share: this supervisor's workers' series merged in, the main thread's lag sampled. */
async function serve(o: Common, ownMetric: ((name: string) => boolean) | undefined, health: () => Promise<HealthReport>): Promise<HealthEndpoint> {
  const { clock, supervisor } = o;
  const aggregator = new MetricsAggregator({
    registry, clock, log: o.log,
    acceptActor: (id) => supervisor.ids().includes(id),
    ...(ownMetric ? { ownMetric } : {}),
  });
  aggregator.start(o.nc);
  const mainLag = monitorEventLoopLag({ registry, actor: 'main', clock, intervalMs: 5_000 });
  // A first sample at once, so the series exists from the first scrape.
  mainLag.sample();
  const stopSampling = () => { mainLag.stop(); aggregator.stop(); };
  try {
    const http = await startHttp({ host: o.host, port: o.port, registry: aggregator, health });
    return { metricsUrl: `${http.url}/metrics`, forget: (id) => aggregator.forget(id), stop: async () => { await http.close(); stopSampling(); } };
  } catch (e) {
    stopSampling();
    throw e;
  }
}
