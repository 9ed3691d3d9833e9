import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Every `orch_` metric, defined once (docs/metrics.md is the prose of this file). Modules take
 * their metric objects from `catalogue(registry)` instead of constructing their own, so a name,
 * its type and its labels cannot drift between the code, the alerts and the dashboard.
 */

/** Histogram buckets for latencies that are usually milliseconds but can reach a minute. */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function defs(r: Registry, hook: (name: string) => () => void) {
  const reg = [r];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers: reg });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name, help, labelNames, registers: reg, collect: hook(name) });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Histogram<L>({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers: reg });

  return {
    // market data
    ticksTotal: counter('orch_ticks_total', 'Ticks received from the venue market-data socket', ['venue']),
    tickLagSeconds: histogram('orch_tick_lag_seconds', 'Receive time minus exchange timestamp of a tick', ['venue']),
    ticksConflatedTotal: counter('orch_ticks_conflated_total', 'Ticks a slow strategy never saw: replaced by a newer tick of the same instrument while waiting (latest-tick policy)', ['actor']),
    mdLastTickAgeSeconds: gauge('orch_md_last_tick_age_seconds', 'Seconds since the last tick from the venue', ['venue']),
    wsConnected: gauge('orch_ws_connected', '1 while the venue market-data socket is connected, else 0', ['venue']),
    marketOpen: gauge('orch_market_open', '1 while the venue is expected to trade (exchange hours less holidays; paper and Kalshi always), else 0', ['venue']),
    wsReconnectsTotal: counter('orch_ws_reconnects_total', 'Market-data socket reconnects completed', ['venue']),
    kalshiBookResyncsTotal: counter('orch_kalshi_book_resyncs_total', 'Kalshi order books resynced after a sequence gap', []),
    // orders
    ordersSubmittedTotal: counter('orch_orders_submitted_total', 'Order writes sent to the venue', ['strategy', 'venue']),
    ordersTotal: counter('orch_orders_total', 'Orders reaching a terminal or acknowledged state, by outcome', ['strategy', 'venue', 'outcome']),
    intentsDeniedTotal: counter('orch_intents_denied_total', 'Intents refused before the venue (kill level, risk, venue rules, rate limit), by rule', ['strategy', 'rule']),
    // rate limiting
    limiterTokens: gauge('orch_limiter_tokens', 'Tokens available now in the tightest window of the category', ['category']),
    limiterCapacity: gauge('orch_limiter_capacity', 'Size of the window that orch_limiter_tokens reports on', ['category']),
    limiterQueueDepth: gauge('orch_limiter_queue_depth', 'Calls waiting for a token', ['category']),
    limiterWaitSeconds: histogram('orch_limiter_wait_seconds', 'Time from acquire to grant', ['category']),
    limiterThrottledTotal: counter('orch_limiter_throttled_total', 'Venue 429s reported to the limiter (pauseUntil)', ['category']),
    ratelimitHeadroomWarningsTotal: counter('orch_ratelimit_headroom_warnings_total', 'Calls that found more than 80% of a venue rate-limit budget in use (for Kalshi, by the limiter own count: it sends no rate headers)', ['venue']),
    venue429Total: counter('orch_venue_429_total', 'HTTP 429 answers from the venue', ['venue']),
    // control
    killLevel: gauge('orch_kill_level', 'Kill-switch level: 0 active .. 4 flatten', ['scope']),
    flattenUnfinished: gauge('orch_flatten_unfinished', 'Positions the last flatten (level 4 or orch flatten) left open after its last re-price; 0 once flat', ['venue']),
    flattenRepricesTotal: counter('orch_flatten_reprices_total', 'Closing orders placed again because the previous one rested unfilled (band edge, empty book)', ['venue']),
    actorGaveUpTotal: counter('orch_actor_gave_up_total', 'Strategies left down after exceeding their restart intensity', ['actor']),
    actorRestartsTotal: counter('orch_actor_restarts_total', 'Actor restarts by the supervisor', ['actor']),
    actorUp: gauge('orch_actor_up', '1 while the actor is running, else 0', ['actor']),
    eventLoopLagSeconds: gauge('orch_event_loop_lag_seconds', 'p99 event-loop delay of the actor thread over the last interval', ['actor']),
    eventLogOversizeTotal: counter('orch_event_log_oversize_total', 'Events too large for the event log, stored as a truncated oversize record instead, by kind of event', ['kind']),
    deadLettersTotal: counter('orch_dead_letters_total', 'Messages that failed to parse and went to the dead-letter subject', ['subject']),
    eventLogBytes: gauge('orch_event_log_bytes', 'Bytes stored in the event log stream ORCH_EVENTS', []),
    eventLogMaxBytes: gauge('orch_event_log_max_bytes', 'Size limit of the event log stream; at it, new events are refused', []),
    configReloadTotal: counter('orch_config_reload_total', 'Registry reloads (file watch or orch reload) by result', ['result']),
    // reconciliation and auth
    reconcileDifferences: gauge('orch_reconcile_differences', 'Differences found by the last reconciliation run', ['venue']),
    reconcileRunsTotal: counter('orch_reconcile_runs_total', 'Reconciliation runs by result', ['venue', 'result']),
    reconcileFailing: gauge('orch_reconcile_failing', '1 while the last reconciliation run of the venue failed to run (an error, not a mismatch), else 0', ['venue']),
    kiteTokenExpiryTimestampSeconds: gauge('orch_kite_token_expiry_timestamp_seconds', 'Unix time at which the Kite access token expires', []),
    kiteLoginFailuresTotal: counter('orch_kite_login_failures_total', 'Kite logins (start, scheduled renewal, re-auth after TokenException) that failed, by reason', ['reason']),
    kitePostbacksTotal: counter('orch_kite_postbacks_total', 'Kite postbacks received, by result (accepted, bad_checksum, invalid, ...)', ['result']),
    // strategy risk
    strategyPnl: gauge('orch_strategy_pnl', 'Strategy P&L today in account currency units', ['strategy', 'kind']),
    strategyDrawdown: gauge('orch_strategy_drawdown', 'Decline from the day peak of total P&L (positive)', ['strategy']),
    strategyDailyLossLimit: gauge('orch_strategy_daily_loss_limit', 'Configured daily loss limit (positive)', ['strategy']),
    strategyDrawdownLimit: gauge('orch_strategy_drawdown_limit', 'Configured drawdown limit (positive)', ['strategy']),
  };
}

type Metrics = ReturnType<typeof defs>;

export type Catalogue = Metrics & {
  /**
   * Runs `fn` whenever gauge `name` is scraped, so values that depend on "now" (token headroom,
   * last-tick age) are fresh without a timer. Returns the unregister function.
   */
  onCollect(name: string, fn: () => void): () => void;
};

/** Names exposed by the catalogue; the dashboard and alert tests check against this list. */
export const METRIC_NAMES: readonly string[] = Object.freeze([
  'orch_ticks_total', 'orch_tick_lag_seconds', 'orch_ticks_conflated_total', 'orch_md_last_tick_age_seconds', 'orch_ws_connected', 'orch_market_open',
  'orch_ws_reconnects_total', 'orch_kalshi_book_resyncs_total', 'orch_orders_submitted_total', 'orch_orders_total',
  'orch_intents_denied_total', 'orch_limiter_tokens', 'orch_limiter_capacity', 'orch_limiter_queue_depth',
  'orch_limiter_wait_seconds', 'orch_limiter_throttled_total', 'orch_venue_429_total', 'orch_kill_level',
  'orch_flatten_unfinished', 'orch_flatten_reprices_total',
  'orch_actor_restarts_total', 'orch_actor_gave_up_total', 'orch_ratelimit_headroom_warnings_total', 'orch_actor_up', 'orch_event_loop_lag_seconds', 'orch_dead_letters_total',
  'orch_event_log_oversize_total',
  'orch_config_reload_total', 'orch_event_log_bytes', 'orch_event_log_max_bytes',
  'orch_reconcile_differences', 'orch_reconcile_failing', 'orch_reconcile_runs_total', 'orch_kite_token_expiry_timestamp_seconds',
  'orch_kite_login_failures_total', 'orch_kite_postbacks_total',
  'orch_strategy_pnl', 'orch_strategy_drawdown', 'orch_strategy_daily_loss_limit', 'orch_strategy_drawdown_limit',
]);

const byRegistry = new WeakMap<Registry, Catalogue>();

/** Creates every catalogue metric on `registry` once; later calls return the same objects. */
export function catalogue(registry: Registry): Catalogue {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const hooks = new Map<string, Set<() => void>>();
  const hook = (name: string) => () => {
    for (const fn of hooks.get(name) ?? []) fn();
  };
  const metrics = defs(registry, hook);
  const cat: Catalogue = {
    ...metrics,
    onCollect(name, fn) {
      let set = hooks.get(name);
      if (!set) hooks.set(name, (set = new Set()));
      set.add(fn);
      return () => set.delete(fn);
    },
  };
  byRegistry.set(registry, cat);
  return cat;
}
