import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../actors/clock.ts';
import type { Catalogue } from '../actors/metric-catalogue.ts';
import { STREAM_EVENTS } from '../actors/subjects.ts';
import type { EventLogBudget } from './event-log-budget.ts';

/** Share of max_bytes at which the operator is warned (log and alert OrchEventLogNearFull). */
export const NEAR_FULL = 0.8;

/**
 * Follows how full the event log is: `orch_event_log_bytes` and `orch_event_log_max_bytes` from
 * the stream's info every `intervalMs` (which also corrects the writers' shared budget), and a
 * warning in the log when it crosses 80 %. At the limit new events are refused and new orders
 * denied.
 */
export class EventLogUsage {
  private timer: TimerHandle | undefined;
  private warned = false;

  constructor(private readonly o: { nc: NatsConnection; metrics: Catalogue; clock: Clock; log: Logger; budget: EventLogBudget; intervalMs?: number }) {}

  async start(): Promise<void> {
    await this.check();
    this.timer = this.o.clock.setInterval(() => {
      this.check().catch((err: unknown) => this.o.log.warn({ err }, 'event log size check failed'));
    }, this.o.intervalMs ?? 5_000);
  }

  stop(): void {
    this.o.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  async check(): Promise<{ bytes: number; maxBytes: number }> {
    const jsm = await jetstreamManager(this.o.nc);
    const info = await jsm.streams.info(STREAM_EVENTS);
    const bytes = info.state.bytes;
    const maxBytes = this.o.budget.limit;
    this.o.budget.observe(bytes);
    this.o.metrics.eventLogBytes.set(bytes);
    this.o.metrics.eventLogMaxBytes.set(maxBytes);
    const near = bytes / maxBytes >= NEAR_FULL;
    // Once per crossing; the refusals at the limit are logged by EventLog, one per event.
    if (near && !this.warned) this.o.log.warn({ bytes, maxBytes }, 'event log above 80% of its size limit: archive and purge old days (orch events export) before it refuses events');
    this.warned = near;
    return { bytes, maxBytes };
  }
}
