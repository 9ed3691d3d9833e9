import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { KILL_LEVEL_NAMES, type KillLevel, type Venue } from '../actors/messages.ts';
import type { KillState } from '../broker/kill/kill-store.ts';
import { strategyPnl, type Projection } from '../broker/projection/projection.ts';
import { formatPnl } from './units.ts';

/**
 * What an operator sees on the console while `orch start` runs: one summary line every few
 * seconds, and a table per strategy at shutdown. Both are log lines (readable on a terminal, JSON
 * otherwise) built from the broker's projection of the event log, the supervisor's view of its
 * actors and the latched kill level.
 */
export type StrategyFigures = {
  id: string;
  venue: Venue;
  status: string;
  /** Orders this run's event log knows (placed, whatever became of them). */
  orders: number;
  /** Orders that filled, in full or in part. */
  filledOrders: number;
  openOrders: number;
  /** Realized + unrealized, in price unit × quantity unit (paise for Kite, millionths of a dollar for Kalshi). */
  pnl: number;
  realized: number;
  unrealized: number;
  killLevel: number;
};

export type ConsoleSummary = {
  strategiesUp: number;
  strategies: number;
  orders: number;
  filledOrders: number;
  pnl: Partial<Record<Venue, number>>;
  killLevel: number;
  haltedStrategies: string[];
  perStrategy: StrategyFigures[];
};

export type SummarySource = {
  projection: Projection;
  lastPrice: (venue: Venue, symbol: string) => number | undefined;
  strategies: readonly { id: string; venue: Venue; status: string }[];
  kill: KillState;
};

export function summarize(src: SummarySource): ConsoleSummary {
  const all = src.projection.book.all();
  const perStrategy = src.strategies.map((s): StrategyFigures => {
    const mine = all.filter((o) => o.strategyId === s.id);
    const p = strategyPnl(src.projection, s.id, (symbol, venue) => src.lastPrice(venue, symbol));
    return {
      id: s.id, venue: s.venue, status: s.status,
      orders: mine.length,
      filledOrders: mine.filter((o) => o.filledQty > 0).length,
      openOrders: mine.filter((o) => o.state === 'pending' || o.state === 'open' || o.state === 'partially_filled').length,
      pnl: p.total, realized: p.realized, unrealized: p.unrealized,
      killLevel: src.kill.strategies[s.id]?.level ?? 0,
    };
  });
  const pnl: Partial<Record<Venue, number>> = {};
  for (const s of perStrategy) pnl[s.venue] = (pnl[s.venue] ?? 0) + s.pnl;
  return {
    strategiesUp: perStrategy.filter((s) => s.status === 'running').length,
    strategies: perStrategy.length,
    orders: perStrategy.reduce((n, s) => n + s.orders, 0),
    filledOrders: perStrategy.reduce((n, s) => n + s.filledOrders, 0),
    pnl,
    killLevel: src.kill.global.level,
    haltedStrategies: perStrategy.filter((s) => s.killLevel > 0).map((s) => s.id),
    perStrategy,
  };
}

const levelName = (l: number) => `${l} ${KILL_LEVEL_NAMES[l as KillLevel] ?? '?'}`;

/** `2/3 strategies up | orders 14 (filled 5) | P&L kite ₹-1.20 kalshi $0.35 | kill 0 ACTIVE`. */
export function summaryLine(s: ConsoleSummary): string {
  const pnl = (Object.entries(s.pnl) as [Venue, number][]).map(([v, n]) => `${v} ${formatPnl(v, n)}`).join(' ');
  const halted = s.haltedStrategies.length ? ` (halted: ${s.haltedStrategies.join(', ')})` : '';
  return `${s.strategiesUp}/${s.strategies} strategies up | orders ${s.orders} (filled ${s.filledOrders}) | P&L ${pnl || '-'} | kill ${levelName(s.killLevel)}${halted}`;
}

/** One strategy's line in the shutdown report. */
export function strategyLine(x: StrategyFigures): string {
  return `${x.id} (${x.venue}): orders ${x.orders}, filled ${x.filledOrders}, open ${x.openOrders}, realized ${formatPnl(x.venue, x.realized)}, P&L ${formatPnl(x.venue, x.pnl)}${x.killLevel > 0 ? `, kill ${levelName(x.killLevel)}` : ''}`;
}

/** The figures as log fields (integers in minor units, for JSON readers). */
function fields(s: ConsoleSummary) {
  return { strategiesUp: s.strategiesUp, strategies: s.strategies, orders: s.orders, filledOrders: s.filledOrders, pnl: s.pnl, killLevel: s.killLevel, haltedStrategies: s.haltedStrategies };
}

/** Logs the summary line every `intervalMs` until stopped. */
export function startConsoleSummary(o: { source: () => SummarySource; log: Logger; clock: Clock; intervalMs: number }): { stop(): void } {
  const timer = o.clock.setInterval(() => {
    try {
      const s = summarize(o.source());
      o.log.info({ summary: fields(s) }, summaryLine(s));
    } catch (err) {
      o.log.warn({ err }, 'summary line failed');
    }
  }, o.intervalMs);
  return { stop: () => o.clock.clearInterval(timer) };
}

/** The shutdown report: the last summary line, then one line per strategy with its orders, fills and P&L. */
export function logShutdownSummary(src: SummarySource, log: Logger): ConsoleSummary {
  const s = summarize(src);
  log.info({ summary: fields(s) }, `session summary: ${summaryLine(s)}`);
  for (const x of s.perStrategy) {
    log.info({ summary: { strategy: x.id, venue: x.venue, orders: x.orders, filledOrders: x.filledOrders, openOrders: x.openOrders, realized: x.realized, pnl: x.pnl } }, strategyLine(x));
  }
  return s;
}
