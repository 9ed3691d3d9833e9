import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { subscribeParsed } from '../actors/bus.ts';
import { subjects } from '../actors/subjects.ts';
import { METRIC_NAMES } from '../actors/metric-catalogue.ts';
import { MetricsSnapshotSchema, type MetricJson, type MetricsSnapshot } from '../actors/metrics-forwarder.ts';

/**
 * The one /metrics endpoint: the main thread's registry merged with the latest snapshot each
 * worker thread published on `orch.metrics.<actor>` (prom-client's AggregatorRegistry rules:
 * series with the same labels are summed unless the metric says otherwise).
 */
export type MetricsAggregatorOptions = {
  registry: Registry;
  clock: Clock;
  log?: Logger;
  /** A snapshot older than this is left out: its worker has stopped or is stuck. */
  staleMs?: number;
  /** Whose worker snapshots are served (default: every actor's); a strategies host serves only its own. */
  acceptActor?: (actorId: string) => boolean;
  /** Which metrics of this thread's registry are served (default: all). */
  ownMetric?: (name: string) => boolean;
};

/**
 * Catalogue metrics a worker may contribute. The rest of the catalogue belongs to the broker and
 * the supervisor; a strategy publishing, say, `orch_kill_level` would otherwise be summed into
 * the real value.
 */
const WORKER_CATALOGUE_METRICS = new Set(['orch_event_loop_lag_seconds', 'orch_dead_letters_total', 'orch_ticks_conflated_total']);
const CATALOGUE = new Set(METRIC_NAMES);

export class MetricsAggregator {
  private readonly latest = new Map<string, MetricsSnapshot & { receivedAt: number }>();
  private sub: Subscription | undefined;
  readonly contentType: Registry['contentType'];

  constructor(private readonly opts: MetricsAggregatorOptions) {
    this.contentType = opts.registry.contentType;
  }

  start(nc: NatsConnection): void {
    this.sub = subscribeParsed(nc, subjects.metricsAll(), MetricsSnapshotSchema, (s, msg) => {
      // The subject is the sender's (nats.conf lets a strategy publish only on its own); the body must agree.
      if (msg.subject !== subjects.metrics(s.actorId)) {
        this.opts.log?.warn({ subject: msg.subject, actorId: s.actorId }, 'metrics snapshot for another actor ignored');
        return;
      }
      this.latest.set(s.actorId, { ...s, receivedAt: this.opts.clock.now() });
    }, this.opts.log ? { log: this.opts.log } : {});
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  /** Actors whose snapshot is current. */
  actors(): string[] {
    return [...this.fresh()].map((s) => s.actorId).sort();
  }

  forget(actorId: string): void {
    this.latest.delete(actorId);
  }

  async metrics(): Promise<string> {
    const own = this.opts.ownMetric;
    const parts: object[][] = [(await this.opts.registry.getMetricsAsJSON()).filter((m) => !own || own(m.name)).map(lintName)];
    for (const s of this.fresh()) if (!this.opts.acceptActor || this.opts.acceptActor(s.actorId)) parts.push(s.metrics.filter(allowedFromWorker).map(dropNulls));
    return AggregatorRegistry.aggregate(parts).metrics();
  }

  private *fresh(): Iterable<MetricsSnapshot> {
    const cutoff = this.opts.clock.now() - (this.opts.staleMs ?? 15_000);
    for (const [id, s] of this.latest) {
      if (s.receivedAt >= cutoff) yield s;
      else this.latest.delete(id);
    }
  }
}

function allowedFromWorker(m: MetricJson): boolean {
  if (m.name.startsWith('orch_process_')) return false;
  return !CATALOGUE.has(m.name) || WORKER_CATALOGUE_METRICS.has(m.name);
}

/**
 * prom-client's default metrics include gauges named `*_total` (active handles, requests,
 * resources), which `promtool check metrics` rejects; they are served without the suffix.
 */
function lintName<M extends { name: string; type: unknown }>(m: M): M {
  return String(m.type) !== 'counter' && m.name.endsWith('_total') ? { ...m, name: m.name.slice(0, -'_total'.length) } : m;
}

function dropNulls(m: MetricJson): MetricJson {
  return { ...m, values: m.values.filter((v) => v.value !== null) };
}
