import type { z } from 'zod';
import type { Strategy, StrategyModule } from '../actors/strategy-contract.ts';
import type { Tick, OrderUpdate, IntentReply, Side, Venue, KillLevel, BrokerEvent } from './sdk-types.ts';

/**
 * The strategy SDK: everything a strategy author imports. The contract itself (what a strategy
 * implements, what its context offers) is defined in actors/strategy-contract.ts, beside the
 * actor that keeps it; the messages a strategy sees are described in strategies/sdk-types.ts.
 */
export type { Tick, OrderUpdate, IntentReply, Side, Venue, KillLevel, BrokerEvent };
export type {
  Strategy,
  StrategyContext,
  StrategyModule,
  IntentTimeout,
  IntentAnswer,
  PlaceRequest,
  ModifyRequest,
  OpenOrder,
} from '../actors/strategy-contract.ts';

/** Typed helper for authors: `export default defineStrategy({ paramsSchema, create })`. */
export function defineStrategy<S extends z.ZodType>(def: { paramsSchema: S; create(params: z.output<S>): Strategy }): StrategyModule<z.output<S>> {
  return def as unknown as StrategyModule<z.output<S>>;
}
