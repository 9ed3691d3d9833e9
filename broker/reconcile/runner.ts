import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../actors/clock.ts';
import { metrics } from '../../actors/metrics.ts';
import type { HistoryQuery, VenueAdapter } from '../venue.ts';
import type { Difference, ReconcileReport } from '../events/schema.ts';
import type { Projection } from '../projection/projection.ts';
import type { Emit } from '../projection/order-events.ts';
import { reconcile, type VenueSnapshot } from './reconcile.ts';
import type { Venue } from '../../actors/messages.ts';

/** What the runner needs from the broker actor. */
export type ReconcileHost = {
  projection(): Projection;
  inflight(): ReadonlySet<string>;
  /** Applies to the projection, records in the log, tells the strategies. */
  apply(venue: Venue, emits: Emit[]): void;
  raiseKill(venue: Venue, differences: Difference[]): Promise<void>;
  /** Writes the report as an event and announces it on orch.broker.events. */
  report(r: ReconcileReport): void;
  /**
   * Holds the venue's live order reports while a run reads and compares (an adapter may emit
   * them from the very REST read the run makes), so the report names what the run resolved.
   * Returns the function that releases them; they merge idempotently afterwards.
   */
  holdOrders?(venue: Venue): () => void;
};

export type ReconcileRunnerOptions = {
  host: ReconcileHost;
  adapters: readonly VenueAdapter[];
  clock: Clock;
  log: Logger;
  /** Periodic runs; 0 or absent = only at start, after reconnects and on request. */
  intervalMs?: number;
  /** A position mismatch is re-read once after this pause before it counts: a fill may land between the two reads. */
  confirmDelayMs?: number;
  /**
   * At start, a position that neither the log nor the venue's fills explain (manual trades,
   * earlier days) raises the kill switch like any other mismatch ('kill', the default: reported,
   * never silently accepted), or becomes the baseline ('baseline').
   */
  externalAtStart?: 'baseline' | 'kill';
  /** How far before the log's last event the venue's history is read (clock skew, events not yet stored at a crash). */
  historyMarginMs?: number;
};

/** Default of historyMarginMs. */
export const HISTORY_MARGIN_MS = 5 * 60 * 1000; // 5 minutes

/**
 * What to ask the venue's history for: everything since the log's last event, or since its
 * oldest unfinished write with no venue id if that is older (such a write is found only in the
 * orders created since it), less `marginMs`; and every unfinished order of the log at this venue.
 * An empty log has no order to look for: the history starts `marginMs` before now.
 */
export function historyQuery(p: Projection, venue: Venue, now: number, marginMs: number): HistoryQuery {
  const open = p.book.open().filter((r) => r.venue === venue);
  let since = p.lastTs > 0 ? p.lastTs : now;
  for (const r of open) if (!r.venueOrderId && r.createdTs < since) since = r.createdTs;
  return {
    sinceMs: Math.max(0, since - marginMs),
    open: open.map((r) => (r.venueOrderId ? { intentId: r.intentId, venueOrderId: r.venueOrderId } : { intentId: r.intentId })),
  };
}

export type RunOptions = { trigger: Trigger; acceptExternal?: boolean };

type Trigger = ReconcileReport['trigger'];

/**
 * The shell around `reconcile`: reads the venue, runs the pure comparison, applies what it
 * decided, raises the kill switch on an unexplained position, and reports. One run per venue
 * at a time; a request during a run waits for it and gets its report.
 */
export class ReconcileRunner {
  private readonly running = new Map<Venue, Promise<ReconcileReport>>();
  private readonly passed = new Set<Venue>();
  private timer: TimerHandle | undefined;

  constructor(private readonly o: ReconcileRunnerOptions) {}

  /** Whether a run for this venue has completed since start (the gate for new intents). */
  hasPassed(venue: Venue): boolean {
    return this.passed.has(venue);
  }

  startPeriodic(): void {
    const every = this.o.intervalMs ?? 0;
    if (every <= 0) return;
    this.timer = this.o.clock.setInterval(() => {
      this.runAll('periodic').catch((err: unknown) => this.o.log.error({ err }, 'periodic reconciliation failed'));
    }, every);
  }

  /** Stops the periodic runs and waits for the ones under way, so none reports into a closed bus. */
  async stop(): Promise<void> {
    this.o.clock.clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.running.values()]);
  }

  /** `acceptExternal`: what still differs in net position becomes the baseline (an operator's decision). */
  async runAll(trigger: Trigger, acceptExternal = false): Promise<ReconcileReport[]> {
    return Promise.all(this.o.adapters.map((a) => this.run(a, trigger, acceptExternal)));
  }

  async run(a: VenueAdapter, trigger: Trigger, acceptExternal = false): Promise<ReconcileReport> {
    const busy = this.running.get(a.venue);
    if (busy && !acceptExternal) return busy;
    // An operator's acceptance needs a run of its own, after the one under way.
    if (busy) await busy.catch(() => undefined);
    const baseline = acceptExternal || (trigger === 'start' && (this.o.externalAtStart ?? 'kill') === 'baseline');
    const p = this.once(a, trigger, baseline).finally(() => this.running.delete(a.venue));
    this.running.set(a.venue, p);
    return p;
  }

  private async snapshot(a: VenueAdapter): Promise<VenueSnapshot> {
    const orders = await a.orders(historyQuery(this.o.host.projection(), a.venue, this.o.clock.now(), this.o.historyMarginMs ?? HISTORY_MARGIN_MS));
    const positions = await a.positions();
    return { venue: a.venue, orders, positions };
  }

  private async once(a: VenueAdapter, trigger: Trigger, baseline: boolean): Promise<ReconcileReport> {
    const { host, clock } = this.o;
    let report: ReconcileReport;
    const release = host.holdOrders?.(a.venue);
    try {
      let snap = await this.snapshot(a);
      let out = reconcile(host.projection(), snap, this.options());
      if (out.raiseKill) {
        // Apply what is explained first, then look again before calling the rest unexplained.
        host.apply(a.venue, out.actions);
        await clock.sleep(this.o.confirmDelayMs ?? 500);
        snap = await this.snapshot(a);
        // Only what is still unexplained on a second look may become the baseline.
        const again = reconcile(host.projection(), snap, { ...this.options(), baselineExternal: baseline });
        // What the second look judges again (positions, orders changed outside orch) is taken from it.
        const first = out.differences.filter((d) => d.kind !== 'position' && d.kind !== 'external_position' && d.resolution !== 'kill_raised');
        const seen = new Set(first.map((d) => JSON.stringify(d)));
        out = { ...again, differences: [...first, ...again.differences.filter((d) => !seen.has(JSON.stringify(d)))] };
        if (!out.raiseKill && out.differences.length > 0) out.result = 'resolved';
      }
      host.apply(a.venue, out.actions);
      if (out.raiseKill) await host.raiseKill(a.venue, out.differences.filter((d) => d.resolution === 'kill_raised'));
      report = { venue: a.venue, result: out.result, trigger, differences: out.differences, ts: clock.now() };
      this.passed.add(a.venue);
    } catch (err) {
      this.o.log.error({ err, venue: a.venue, trigger }, 'reconciliation failed');
      report = { venue: a.venue, result: 'error', trigger, differences: [], error: (err as Error).message, ts: clock.now() };
    } finally {
      release?.();
    }
    // A run that failed compared nothing: the last differences found still stand.
    if (report.result !== 'error') metrics.reconcileDifferences.set({ venue: a.venue }, report.differences.length);
    metrics.reconcileFailing.set({ venue: a.venue }, report.result === 'error' ? 1 : 0);
    metrics.reconcileRunsTotal.inc({ venue: a.venue, result: report.result });
    const log = report.result === 'ok' ? this.o.log.info.bind(this.o.log) : this.o.log.warn.bind(this.o.log);
    log({ venue: a.venue, trigger, result: report.result, differences: report.differences }, 'reconciled');
    host.report(report);
    return report;
  }

  private options() {
    const p = this.o.host.projection();
    return {
      now: this.o.clock.now(),
      inflight: this.o.host.inflight(),
      strategyOf: (intentId: string) => p.intents.get(intentId)?.strategyId,
    };
  }
}
