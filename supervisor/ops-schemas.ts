import { z } from 'zod';
import { HealthSchema } from '../actors/messages.ts';

/**
 * What the supervisor and broker services answer (NATS services API endpoints) and what the
 * CLI reads back: defined once, parsed on both sides.
 */
export const ReloadErrorSchema = z.object({
  file: z.string(),
  line: z.number().int().optional(),
  field: z.string(),
  message: z.string(),
});
export type ReloadError = z.infer<typeof ReloadErrorSchema>;

export const ReloadResultSchema = z.object({
  /** applied: something changed; unchanged: nothing to do; invalid: refused, nothing changed; failed: an apply step threw. */
  result: z.enum(['applied', 'unchanged', 'invalid', 'failed']),
  trigger: z.enum(['watch', 'request', 'start']),
  started: z.array(z.string()),
  stopped: z.array(z.string()),
  restarted: z.array(z.string()),
  unchanged: z.array(z.string()),
  /** Open orders cancelled for strategies removed with `onRemove: cancel-orders`. */
  cancelledOrders: z.number().int().nonnegative(),
  error: ReloadErrorSchema.optional(),
  ts: z.number().int(),
});
export type ReloadResult = z.infer<typeof ReloadResultSchema>;

export const ActorStatusSchema = z.object({
  id: z.string(),
  status: z.enum(['starting', 'running', 'restarting', 'down', 'stopping', 'stopped']),
  restarts: z.number().int().nonnegative(),
  lastError: z.string().optional(),
  health: HealthSchema.optional(),
});

export const StrategySummarySchema = z.object({
  id: z.string(),
  venue: z.string(),
  module: z.string(),
  instruments: z.array(z.string()),
  enabled: z.boolean(),
  onRemove: z.string(),
  status: z.string(),
  restarts: z.number().int().nonnegative(),
});
export type StrategySummary = z.infer<typeof StrategySummarySchema>;

export const SupervisorStatusSchema = z.object({
  service: z.string(),
  /** Which supervisor answered (host:pid) and the placement group it runs; every supervisor answers. */
  host: z.string().optional(),
  group: z.string().optional(),
  configFile: z.string(),
  actors: z.array(ActorStatusSchema),
  lastReload: ReloadResultSchema.optional(),
  ts: z.number().int(),
});
export type SupervisorStatus = z.infer<typeof SupervisorStatusSchema>;

export const StrategiesReplySchema = z.object({ configFile: z.string(), strategies: z.array(StrategySummarySchema) });

export const PositionSchema = z.object({
  strategyId: z.string(),
  venue: z.string(),
  symbol: z.string(),
  /** Signed net quantity from the fills in the event log. */
  qty: z.number().int(),
  avgPrice: z.number().optional(),
  realized: z.number().int(),
  lastPrice: z.number().int().optional(),
});

/**
 * Price unit × quantity unit: paise for Kite, millionths of a dollar for Kalshi (supervisor/units.ts);
 * `unpriced` lists held symbols with no last price yet (counted as 0).
 */
export const StrategyPnlSchema = z.object({
  strategyId: z.string(),
  /** The venue the strategy trades on (which says the unit). */
  venue: z.string().optional(),
  realized: z.number().int(),
  unrealized: z.number().int(),
  total: z.number().int(),
  unpriced: z.array(z.string()),
  openOrders: z.number().int().nonnegative(),
});

export const OpenOrderSchema = z.object({
  intentId: z.string(),
  strategyId: z.string(),
  venue: z.string(),
  symbol: z.string(),
  side: z.string(),
  qty: z.number().int(),
  filledQty: z.number().int(),
  limitPrice: z.number().int().optional(),
  state: z.string(),
  venueOrderId: z.string().optional(),
});

export const LimiterBucketSchema = z.object({
  category: z.string(),
  tokens: z.number(),
  capacity: z.number(),
  queueDepth: z.number().int(),
  pausedUntil: z.number().nullable(),
});

export const BrokerStatusSchema = z.object({
  service: z.string(),
  venues: z.array(z.object({ venue: z.string(), connected: z.boolean() })),
  limiter: z.array(LimiterBucketSchema),
  kill: z.object({
    global: z.object({ level: z.number().int(), reason: z.string(), by: z.string(), ts: z.number() }),
    strategies: z.record(z.string(), z.object({ level: z.number().int(), reason: z.string(), by: z.string(), ts: z.number() })),
  }),
  positions: z.array(PositionSchema),
  /** Net positions no strategy holds (manual trades, earlier days): the reconciliation baseline. */
  externalPositions: z.array(z.object({ venue: z.string(), symbol: z.string(), qty: z.number() })).default([]),
  pnl: z.array(StrategyPnlSchema),
  openOrders: z.array(OpenOrderSchema),
  /** The last flatten (level 4 or `orch flatten`): not flat = positions its closing orders could not close. */
  flatten: z.object({
    scope: z.string(), ts: z.number(), flat: z.boolean(), rounds: z.number().int(), orders: z.number().int(),
    remaining: z.array(z.object({ venue: z.string(), symbol: z.string(), qty: z.number() })),
  }).optional(),
  ts: z.number().int(),
});
export type BrokerStatus = z.infer<typeof BrokerStatusSchema>;
