import type { Catalogue } from '../../actors/metric-catalogue.ts';
import type { PnlSource } from './trigger-feed.ts';
import type { Venue } from '../../actors/messages.ts';
import type { KillTriggers } from '../../config/risk-limits.ts';

/**
 * The strategy risk gauges of docs/metrics.md (P&L, drawdown and the two limits), computed at
 * scrape time from the same P&L the kill switch's daily-loss and drawdown triggers judge, so
 * the alerts OrchDailyLoss* and OrchDrawdown* see what the trigger sees. The gauges are rebuilt
 * from the strategies running now: a strategy removed by a reload leaves no series behind.
 */

/**
 * Minor units per major unit of the account currency: paise per rupee for Kite, hundredths of a
 * cent per dollar for Kalshi (config/strategies.yaml, docs/venues/kalshi.md). The gauges are
 * for display; money stays exact integers everywhere else.
 */
export const MINOR_PER_MAJOR: Readonly<Record<Venue, number>> = Object.freeze({ kite: 100, kalshi: 10_000 });

export type RiskStrategy = { id: string; venue: Venue };

export type RiskMetricsOptions = {
  metrics: Catalogue;
  pnl: PnlSource;
  /** The running strategies. */
  strategies: () => readonly RiskStrategy[];
  /** The thresholds in force for a strategy (the registry's global ones overridden by its own). */
  thresholds: (strategyId: string) => Partial<KillTriggers>;
  /** The day's peak of total P&L the drawdown trigger keeps (minor units). */
  peakOf: (strategyId: string) => number;
};

/** Registers the scrape-time computation; returns the function that unregisters it. */
export function exportStrategyRisk(o: RiskMetricsOptions): () => void {
  const m = o.metrics;
  const major = (minor: number, venue: Venue) => minor / MINOR_PER_MAJOR[venue];
  const refresh = {
    orch_strategy_pnl: () => {
      m.strategyPnl.reset();
      for (const s of o.strategies()) {
        const p = o.pnl.pnlOf(s.id);
        m.strategyPnl.set({ strategy: s.id, kind: 'realized' }, major(p.realized, s.venue));
        m.strategyPnl.set({ strategy: s.id, kind: 'unrealized' }, major(p.unrealized, s.venue));
      }
    },
    orch_strategy_drawdown: () => {
      m.strategyDrawdown.reset();
      for (const s of o.strategies()) {
        const p = o.pnl.pnlOf(s.id);
        const total = p.realized + p.unrealized;
        // As the drawdown trigger measures it: from the day's peak, which starts flat at 0.
        const peak = Math.max(o.peakOf(s.id), total, 0);
        m.strategyDrawdown.set({ strategy: s.id }, major(peak - total, s.venue));
      }
    },
    // A strategy without a limit exports none, so the limit alerts cannot match it.
    orch_strategy_daily_loss_limit: () => {
      m.strategyDailyLossLimit.reset();
      for (const s of o.strategies()) {
        const limit = o.thresholds(s.id).dailyLoss;
        if (limit !== undefined) m.strategyDailyLossLimit.set({ strategy: s.id }, major(limit, s.venue));
      }
    },
    orch_strategy_drawdown_limit: () => {
      m.strategyDrawdownLimit.reset();
      for (const s of o.strategies()) {
        const limit = o.thresholds(s.id).maxDrawdown;
        if (limit !== undefined) m.strategyDrawdownLimit.set({ strategy: s.id }, major(limit, s.venue));
      }
    },
  };
  const unhooks = Object.entries(refresh).map(([name, fn]) => m.onCollect(name, fn));
  return () => {
    for (const u of unhooks) u();
  };
}
