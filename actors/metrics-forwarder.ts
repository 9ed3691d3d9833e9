import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Clock } from './clock.ts';
import { subjects } from './subjects.ts';
import { encodeJson } from './bus.ts';
import { catalogue } from './metric-catalogue.ts';

/**
 * Worker threads have their own prom-client registry (modules are per thread), so each one
 * publishes its registry as JSON on `orch.metrics.<actor>`; the supervisor merges them into
 * the one /metrics endpoint (supervisor/metrics-aggregator.ts).
 */
// Bounded like every message (actors/messages.ts): a worker's snapshot is what a strategy could
// forge on its own subject, and each value becomes a series on /metrics.
const MetricValueSchema = z.object({
  value: z.number().nullable(),
  labels: z.record(z.string().max(100), z.union([z.string().max(200), z.number()])).refine((l) => Object.keys(l).length <= 16, 'at most 16 labels'),
  metricName: z.string().max(200).optional(),
});

export const MetricJsonSchema = z.object({
  name: z.string().max(200).regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/),
  help: z.string().max(1_024),
  type: z.enum(['counter', 'gauge', 'histogram', 'summary']),
  values: z.array(MetricValueSchema).max(2_000),
  aggregator: z.enum(['sum', 'first', 'min', 'max', 'average', 'omit']).default('sum'),
});
export type MetricJson = z.infer<typeof MetricJsonSchema>;

export const MetricsSnapshotSchema = z.strictObject({
  type: z.literal('metrics'),
  actorId: z.string().min(1).max(64),
  ts: z.number().int().nonnegative(),
  metrics: z.array(MetricJsonSchema).max(500),
});
export type MetricsSnapshot = z.infer<typeof MetricsSnapshotSchema>;

/**
 * Samples this thread's event-loop delay into `orch_event_loop_lag_seconds{actor}`: the p99 since
 * the previous sample, every `intervalMs` (or whenever the caller calls `sample`).
 */
export function monitorEventLoopLag(o: { registry: Registry; actor: string; clock: Clock; intervalMs?: number }): { sample(): void; stop(): void } {
  const gauge = catalogue(o.registry).eventLoopLagSeconds;
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const sample = () => {
    // Nanoseconds; 0 until the histogram has a sample.
    const p99 = h.count > 0 ? h.percentile(99) : 0;
    gauge.set({ actor: o.actor }, p99 / 1e9);
    h.reset();
  };
  const timer = o.intervalMs !== undefined ? o.clock.setInterval(sample, o.intervalMs) : undefined;
  return {
    sample,
    stop: () => {
      o.clock.clearInterval(timer);
      h.disable();
    },
  };
}

/** Publishes the thread's registry every interval (and its event-loop lag with it). */
export function forwardMetrics(o: { nc: NatsConnection; registry: Registry; actorId: string; clock: Clock; intervalMs?: number }): { stop(): void } {
  // Sampled right before each publish, so the lag covers exactly the interval being reported.
  const lag = monitorEventLoopLag({ registry: o.registry, actor: o.actorId, clock: o.clock });
  let busy = false;
  const publish = async () => {
    if (busy || o.nc.isClosed()) return;
    busy = true;
    try {
      lag.sample();
      // JSON has no NaN or Infinity; such a sample is sent as null and dropped by the aggregator.
      const metrics = (await o.registry.getMetricsAsJSON()).map((m) => ({
        ...m,
        values: m.values.map((v) => ({ ...v, value: Number.isFinite(v.value) ? v.value : null })),
      })) as unknown as MetricJson[];
      if (!o.nc.isClosed()) o.nc.publish(subjects.metrics(o.actorId), encodeJson(MetricsSnapshotSchema, { type: 'metrics', actorId: o.actorId, ts: o.clock.now(), metrics }));
    } catch {
      // A closing connection or a metric collect error: the next interval tries again.
    } finally {
      busy = false;
    }
  };
  const timer = o.clock.setInterval(() => void publish(), o.intervalMs ?? 2_000);
  void publish();
  return {
    stop: () => {
      o.clock.clearInterval(timer);
      lag.stop();
    },
  };
}
