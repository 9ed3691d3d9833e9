import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import type { Tick, OrderUpdate, IntentReply, Side, Venue, KillLevel, BrokerEvent } from './messages.ts';

/**
 * The contract between a strategy and the actor that runs it. Strategy authors import it from
 * strategies/sdk.ts; it lives here, under the actor, so the actor depends on no strategy code.
 *
 * What a strategy author implements. Every callback may be async; the actor runs them one at
 * a time in arrival order, so a strategy never sees two ticks concurrently.
 */
export interface Strategy {
  onStart?(ctx: StrategyContext): void | Promise<void>;
  onTick(tick: Tick, ctx: StrategyContext): void | Promise<void>;
  onOrderUpdate?(update: OrderUpdate, ctx: StrategyContext): void | Promise<void>;
  onBrokerEvent?(event: BrokerEvent, ctx: StrategyContext): void | Promise<void>;
  onStop?(ctx: StrategyContext): void | Promise<void>;
}

/**
 * The broker did not answer within the strategy's deadline (`afterMs`, 10 s). Not a denial:
 * the intent may still be carried out (a place may rest at the venue, a cancel may land); the
 * order updates say what happened, and `ctx.openOrders()` keeps a timed-out place as `pending`
 * until one does, or until a broker that becomes ready (a restart, a failover) says it holds no
 * such order: a new broker never judges an intent sent before it was ready. An answer like any
 * other: ignoring it does not crash the strategy.
 */
export type IntentTimeout = { status: 'timeout'; intentId: string; afterMs: number; reason: string };

/** What `ctx.place`, `ctx.cancel` and `ctx.modify` resolve with; they do not reject on a deadline. */
export type IntentAnswer = IntentReply | IntentTimeout;

export type PlaceRequest = {
  symbol: string;
  side: Side;
  qty: number;
  orderType: 'LIMIT' | 'MARKET';
  /** Minor units: paise (Kite) or hundredths of a cent (Kalshi). */
  limitPrice?: number;
  reduceOnly?: boolean;
};

export type ModifyRequest = {
  /** New limit price, minor units (a LIMIT order only). */
  price?: number;
  /** New total quantity of the order. */
  qty?: number;
};

export type OpenOrder = {
  intentId: string;
  symbol: string;
  side: Side;
  qty: number;
  filledQty: number;
  limitPrice?: number;
  state: OrderUpdate['state'];
};

export interface StrategyContext {
  readonly id: string;
  readonly venue: Venue;
  readonly instruments: readonly string[];
  readonly log: Logger;
  readonly clock: Clock;
  /**
   * Sends an intent to the broker; resolves with its decision (accepted is not a fill), or
   * `timeout` past the deadline. `denied` names its `rule` (e.g. `kill_level`, `max_position`,
   * `rate_limited`, `broker_unavailable`) and `figures`.
   */
  place(req: PlaceRequest): Promise<IntentAnswer>;
  /** Cancels one of this strategy's orders by the intent id it was placed with. */
  cancel(intentId: string): Promise<IntentAnswer>;
  /**
   * Changes one of this strategy's resting orders in place, by the intent id it was placed
   * with: the same venue order at a new price and/or quantity, never a second order. `qty` is
   * the order's new total (what has filled included, so it must exceed that). Judged like the
   * order it becomes (kill level, lot and tick, maxOrderQty, maxOrderValue, maxPosition with the
   * open orders, price band) but not a new order: it counts neither against `maxOpenOrders`
   * nor in `ordersPerMinute`. At kill level 2 only a reducing order may be re-priced or shrunk.
   * `accepted` means the venue took the change; `ctx.openOrders()` then shows it.
   */
  modify(intentId: string, change: ModifyRequest): Promise<IntentAnswer>;
  /**
   * Net position from this strategy's fills (positive long). Before the first callback
   * (`onStart`, the first tick) it is what the broker holds for this strategy: a restarted or
   * reloaded strategy starts with the position its earlier lives built, not 0. Then every fill
   * in its order updates moves it (each fill counted once).
   */
  position(symbol: string): number;
  /**
   * This strategy's orders not yet filled, cancelled or rejected: at start the ones resting at
   * the venue from earlier lives (from the broker), then each `ctx.place` from the moment it is
   * sent, kept up to date by order updates. A copy: changing it changes nothing.
   */
  openOrders(): OpenOrder[];
  /** Effective kill level for this strategy as last broadcast. */
  killLevel(): KillLevel;
  /** False while the broker reports its venue disconnected. */
  brokerConnected(): boolean;
}

export type StrategyModule<P = unknown> = {
  /** Validates `params` from YAML; errors name the field. */
  paramsSchema: z.ZodType<P>;
  create(params: P): Strategy;
};

export type ModuleLoader = (absPath: string) => Promise<StrategyModule>;

/**
 * Imports a strategy module. Node caches modules per thread, so code that must see the file
 * as it is now (hot reload) loads it in a fresh worker instead.
 */
export const importStrategyModule: ModuleLoader = (absPath) => importStrategyModuleFrom(pathToFileURL(absPath).href);

/** The same from a URL: a strategy worker imports its module compiled to a data: URL. */
export async function importStrategyModuleFrom(url: string): Promise<StrategyModule> {
  const mod = (await import(url)) as { default?: StrategyModule };
  const m = mod.default;
  if (!m || typeof m.create !== 'function' || !m.paramsSchema) throw new Error('module must `export default defineStrategy({ paramsSchema, create })`');
  return m;
}
