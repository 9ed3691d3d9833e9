import type { z } from 'zod';
import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import type { Tick, OrderUpdate, IntentReply, Side, Venue, KillLevel, BrokerEvent } from './sdk-types.ts';

export type { Tick, OrderUpdate, IntentReply, Side, Venue, KillLevel, BrokerEvent };

/**
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

export type PlaceRequest = {
  symbol: string;
  side: Side;
  qty: number;
  orderType: 'LIMIT' | 'MARKET';
  /** Minor units: paise (Kite) or hundredths of a cent (Kalshi). */
  limitPrice?: number;
  reduceOnly?: boolean;
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
  /** Sends an intent to the broker; resolves with its decision (accepted is not a fill). */
  place(req: PlaceRequest): Promise<IntentReply>;
  cancel(intentId: string): Promise<IntentReply>;
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

/** Typed helper for authors: `export default defineStrategy({ paramsSchema, create })`. */
export function defineStrategy<S extends z.ZodType>(def: { paramsSchema: S; create(params: z.output<S>): Strategy }): StrategyModule<z.output<S>> {
  return def as unknown as StrategyModule<z.output<S>>;
}
