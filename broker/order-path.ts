import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import type { OrderUpdate, Tick, Venue } from '../actors/messages.ts';
import type { StrategySpec } from '../config/registry.ts';
import { Intents, type IntentsOptions, type KillSource } from './intents.ts';
import { Ledger } from './ledger.ts';
import type { RateLimiter } from './limiter/types.ts';
import { MarketData } from './market-data.ts';
import { OrderUpdates } from './order-updates.ts';
import { Orders } from './orders.ts';
import type { VenueError } from './venue-errors.ts';
import type { VenueAdapter } from './venue.ts';
import type { Difference, ReconcileReport } from './events/schema.ts';
import type { ReconcileHost } from './reconcile/runner.ts';

export type OrderPathOptions = {
  venues: ReadonlyMap<Venue, VenueAdapter>;
  strategies: () => ReadonlyMap<string, StrategySpec>;
  kill: KillSource;
  clock: Clock;
  log: Logger;
  /** Where ticks and order updates go out (the actor: NATS; a test: an array). */
  publishTick: (tick: Tick) => void;
  publishOrder: (update: OrderUpdate) => void;
  fenced: () => string | undefined;
  reconciled: (venue: Venue) => boolean;
  limiter?: RateLimiter;
  onMarginException?: (strategyId: string, err: VenueError) => void;
  /** A live report shows an order of ours changed outside orch (OrderUpdates). */
  outsideChange?: (venue: Venue) => void;
} & Pick<IntentsOptions, 'maxRateWaitMs' | 'refusalLog'>;

export type OrderPath = { ledger: Ledger; marketData: MarketData; updates: OrderUpdates; orders: Orders; intents: Intents };

/**
 * The broker's parts, wired to each other and to nothing else: the ledger (event log and
 * projection), market data, order updates, the orders part and the intent desk. The actor
 * connects them to NATS; tests drive them with a fake venue and no network.
 */
export function buildOrderPath(o: OrderPathOptions): OrderPath {
  const { clock, log, venues } = o;
  const ledger = new Ledger(clock, log);
  const marketData = new MarketData({ clock, publish: o.publishTick });
  const updates = new OrderUpdates({ ledger, clock, log, publish: o.publishOrder, ...(o.outsideChange ? { outsideChange: o.outsideChange } : {}) });
  const orders = new Orders({ ledger, updates, venues, clock, log, ...(o.limiter ? { limiter: o.limiter } : {}), ...(o.onMarginException ? { onMarginException: o.onMarginException } : {}) });
  const intents = new Intents({
    ledger, orders, venues, strategies: o.strategies, kill: o.kill, clock, log,
    lastPrice: (v, s) => marketData.lastPrice(v, s), fenced: o.fenced, reconciled: o.reconciled,
    ...(o.maxRateWaitMs !== undefined ? { maxRateWaitMs: o.maxRateWaitMs } : {}), ...(o.refusalLog ? { refusalLog: o.refusalLog } : {}),
  });
  return { ledger, marketData, updates, orders, intents };
}

/**
 * What reconciliation (broker/reconcile/runner.ts) reads and changes: the ledger, the places
 * still without a venue id, the venue's live reports held while it compares; its report is
 * logged and announced (`announce`), an unexplained difference goes to `onMismatch`.
 */
export function reconcileHost(path: OrderPath, o: {
  log: Logger;
  onMismatch?: (venue: Venue, differences: Difference[]) => Promise<void>;
  announce: (r: ReconcileReport) => void;
}): ReconcileHost {
  return {
    projection: () => path.ledger.projection,
    inflight: () => path.intents.unanswered(),
    apply: (venue, emits) => path.updates.apply(venue, emits),
    raiseKill: async (venue, differences) => {
      await o.onMismatch?.(venue, differences).catch((err: unknown) => o.log.error({ err }, 'kill raise after reconciliation failed'));
    },
    holdOrders: (venue) => path.updates.hold(venue),
    report: (r) => {
      path.ledger.emit({ kind: 'reconcile', ts: r.ts, report: r });
      o.announce(r);
    },
  };
}
