import type { Catalogue } from './metric-catalogue.ts';
import { subjects } from './subjects.ts';
import type { Venue } from './messages.ts';

/**
 * Labelled series the system knows in advance, created at zero. A counter that first appears
 * at 1 is invisible to `increase()` (Prometheus sees no earlier sample), and a panel over a
 * series that does not exist shows "no data" instead of 0; see
 * https://prometheus.io/docs/practices/instrumentation/#avoid-missing-metrics
 * A strategy removed by a reload takes its series with it (`forgetStrategy`).
 */

/** Order outcomes (docs/metrics.md, orch_orders_total). */
export const ORDER_OUTCOMES = ['accepted', 'filled', 'cancelled', 'rejected', 'error'] as const;

/**
 * Denial rules every strategy can meet: the kill level, the broker's own refusals and the risk
 * gate (broker/risk/gate.ts). Venue-specific refusals (`venue_*`, lot or tick size) appear
 * when they first happen; the per-strategy denial alerts sum over rules, so they still count.
 */
export const DENIAL_RULES = [
  'kill_level', 'rate_limited', 'event_log_unavailable', 'broker_disconnected', 'not_reconciled', 'not_leader', 'broker_unavailable',
  'max_order_qty', 'max_order_value', 'max_position', 'max_open_orders', 'orders_per_minute', 'price_band',
  'instrument_not_allowed', 'no_reference_price', 'reduce_only',
] as const;

/** Reconciliation results (broker/events/schema.ts RECONCILE_RESULTS). */
export const RECONCILE_RESULTS = ['ok', 'resolved', 'mismatch', 'error'] as const;

/** Why a Kite login failed (docs/metrics.md, orch_kite_login_failures_total). */
export const KITE_LOGIN_FAILURES = ['start', 'scheduled', 'token_exception', 'expired'] as const;

/** How the Kite postback endpoint answered (broker/kite/postback.ts). */
export const KITE_POSTBACK_RESULTS = ['accepted', 'bad_checksum', 'wrong_user', 'invalid', 'too_large', 'bad_method', 'not_found', 'error'] as const;

export const CONFIG_RELOAD_RESULTS = ['applied', 'unchanged', 'invalid', 'failed'] as const;

export type KnownStrategy = { id: string; venue: Venue };

/** Series of one strategy: its orders, denials, P&L, actor state and intent subject's dead letters. */
export function seedStrategy(m: Catalogue, s: KnownStrategy): void {
  m.ordersSubmittedTotal.inc({ strategy: s.id, venue: s.venue }, 0);
  for (const outcome of ORDER_OUTCOMES) m.ordersTotal.inc({ strategy: s.id, venue: s.venue, outcome }, 0);
  for (const rule of DENIAL_RULES) m.intentsDeniedTotal.inc({ strategy: s.id, rule }, 0);
  m.actorRestartsTotal.inc({ actor: s.id }, 0);
  m.actorGaveUpTotal.inc({ actor: s.id }, 0);
  m.ticksConflatedTotal.inc({ actor: s.id }, 0);
  m.deadLettersTotal.inc({ subject: subjects.intent(s.id) }, 0);
}

/** Series of one venue: market data, throttling and reconciliation. */
export function seedVenue(m: Catalogue, venue: Venue): void {
  m.ticksTotal.inc({ venue }, 0);
  m.flattenUnfinished.set({ venue }, 0);
  m.flattenRepricesTotal.inc({ venue }, 0);
  m.tickLagSeconds.zero({ venue });
  m.wsReconnectsTotal.inc({ venue }, 0);
  m.venue429Total.inc({ venue }, 0);
  m.ratelimitHeadroomWarningsTotal.inc({ venue }, 0);
  m.reconcileDifferences.set({ venue }, 0);
  m.reconcileFailing.set({ venue }, 0);
  for (const result of RECONCILE_RESULTS) m.reconcileRunsTotal.inc({ venue, result }, 0);
  if (venue === 'kite') for (const reason of KITE_LOGIN_FAILURES) m.kiteLoginFailuresTotal.inc({ reason }, 0);
  // Seeded, not left to the first postback: the alert and panel read it from the start.
  if (venue === 'kite') for (const result of KITE_POSTBACK_RESULTS) m.kitePostbacksTotal.inc({ result }, 0);
  if (venue === 'kalshi') m.kalshiBookResyncsTotal.inc(0);
}

/** Series that belong to no strategy or venue; `eventKinds`: the kinds of event-log entry. */
export function seedProcess(m: Catalogue, eventKinds: readonly string[]): void {
  for (const result of CONFIG_RELOAD_RESULTS) m.configReloadTotal.inc({ result }, 0);
  for (const kind of eventKinds) m.eventLogOversizeTotal.inc({ kind }, 0);
  m.killLevel.set({ scope: 'global' }, 0);
}

/** Every label set of the catalogue that names this strategy. */
const STRATEGY_LABELS = ['strategy', 'actor', 'scope'] as const;

/** Drops every series that names `strategyId` (a reload removed it), so no dashboard shows a ghost. */
export async function forgetStrategy(m: Catalogue, strategyId: string): Promise<void> {
  const intentSubject = subjects.intent(strategyId);
  for (const metric of Object.values(m)) {
    if (typeof metric !== 'object' || metric === null || !('get' in metric) || !('remove' in metric)) continue;
    const data = await metric.get();
    for (const v of data.values) {
      const labels = v.labels as Record<string, string | number | undefined>;
      const named = STRATEGY_LABELS.some((l) => labels[l] === strategyId) || labels.subject === intentSubject;
      if (!named) continue;
      // Histograms report one value per bucket; their series are removed without the bucket label.
      const { le: _le, ...own } = labels;
      (metric.remove as (l: Record<string, string | number | undefined>) => void)(own);
    }
  }
}
