import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { registry } from '../actors/metrics.ts';
import { monitorEventLoopLag } from '../actors/metrics-forwarder.ts';
import type { VenueAdapter } from '../broker/venue.ts';
import { startHttp } from './http.ts';
import { MetricsAggregator } from './metrics-aggregator.ts';
import type { Supervisor } from './supervisor.ts';

export type HealthEndpoint = {
  /** Where Prometheus scrapes. */
  metricsUrl: string;
  /** Drops a removed strategy's last snapshot from its worker thread. */
  forget(strategyId: string): void;
  stop(): Promise<void>;
};

/**
 * `/metrics` and `/health` over HTTP: worker threads publish their registries over NATS and
 * /metrics serves them merged with the main thread's (with its event-loop lag); /health is ok
 * while every venue is connected and every actor running or stopped on purpose.
 */
export async function startHealthEndpoint(o: {
  nc: NatsConnection; clock: Clock; log: Logger; host: string; port: number;
  adapters: readonly VenueAdapter[]; supervisor: Pick<Supervisor, 'view'>;
}): Promise<HealthEndpoint> {
  const { clock, adapters, supervisor } = o;
  const aggregator = new MetricsAggregator({ registry, clock, log: o.log });
  aggregator.start(o.nc);
  const mainLag = monitorEventLoopLag({ registry, actor: 'main', clock, intervalMs: 5_000 });
  // A first sample at once, so the series exists from the first scrape.
  mainLag.sample();
  const stopSampling = () => { mainLag.stop(); aggregator.stop(); };
  try {
    const http = await startHttp({
      host: o.host, port: o.port, registry: aggregator,
      health: async () => {
        const actors = await supervisor.view();
        return {
          ok: adapters.every((a) => a.connected()) && actors.every((a) => a.status === 'running' || a.status === 'stopped'),
          broker: Object.fromEntries(adapters.map((a) => [a.venue, a.connected()])),
          actors: actors.map((a) => ({ id: a.id, status: a.status, restarts: a.restarts })),
        };
      },
    });
    return { metricsUrl: `${http.url}/metrics`, forget: (id) => aggregator.forget(id), stop: async () => { await http.close(); stopSampling(); } };
  } catch (e) {
    stopSampling();
    throw e;
  }
}
