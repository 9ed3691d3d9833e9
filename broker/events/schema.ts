import { z } from 'zod';
import {
  BrokerEventSchema, FillSchema, IntentSchema, KillLevelSchema, KillScopeSchema, OrderStateSchema, SideSchema, VenueSchema,
} from '../../actors/messages.ts';
import { ERROR_KINDS } from '../venue-errors.ts';

/**
 * Every entry of the event log (stream ORCH_EVENTS), defined once. Order events carry the
 * strategy id and intent id; system events (kill, reconcile, broker, lease) carry a strategy
 * id only when they concern one strategy. Parsed on every read: a projection is only as
 * good as the events it trusts. Prices are integers in the venue's minor unit.
 */
const ts = z.number().int().nonnegative();
const intId = z.number().int();
const price = intId.nonnegative();
const oid = z.string().min(1);
const order = { strategyId: oid, intentId: oid, ts };
const Figures = z.record(z.string(), z.union([z.number(), z.string()]));

export const VenueRequestSchema = z.strictObject({
  intentId: oid,
  symbol: z.string().min(1),
  side: SideSchema,
  qty: intId.positive(),
  orderType: z.enum(['LIMIT', 'MARKET']),
  limitPrice: price.optional(),
  marketProtection: z.number().min(-1).max(100).optional(),
});

export const WriteOpSchema = z.enum(['place', 'cancel', 'modify']);

/**
 * A modify's effect on the order it targets (the modify's own intent id is the event's): the
 * order's new total quantity and, for a limit order, its new price.
 */
export const OrderChangeSchema = z.strictObject({
  targetIntentId: oid,
  qty: intId.positive(),
  limitPrice: price.optional(),
});
export type OrderChange = z.infer<typeof OrderChangeSchema>;

export const VenueErrorWireSchema = z.strictObject({
  name: z.literal('VenueError'),
  venue: z.string(),
  kind: z.enum(ERROR_KINDS),
  message: z.string(),
  status: intId.optional(),
  retryAfterMs: intId.optional(),
});

/** One field that differs between the log's view and the venue's, or an order only one side knows. */
export const DifferenceSchema = z.strictObject({
  /** `order_changed`: an open order rests at the venue at another quantity or limit price than the log's. */
  kind: z.enum(['adopted', 'missed_fill', 'state_behind', 'not_landed', 'missing_at_venue', 'unrecognised_order', 'position', 'external_position', 'order_changed']),
  /**
   * What reconciliation did about it. `baseline`: a position no strategy holds (manual trades,
   * earlier days) is recorded as outside the strategies (`atVenue - local`), not traded or killed.
   */
  resolution: z.enum(['applied', 'reported', 'kill_raised', 'baseline']),
  venue: VenueSchema,
  symbol: z.string().optional(),
  strategyId: z.string().optional(),
  intentId: z.string().optional(),
  venueOrderId: z.string().optional(),
  field: z.string().optional(),
  local: z.union([z.number(), z.string()]).optional(),
  atVenue: z.union([z.number(), z.string()]).optional(),
  note: z.string().optional(),
});
export type Difference = z.infer<typeof DifferenceSchema>;

export const RECONCILE_RESULTS = ['ok', 'resolved', 'mismatch', 'error'] as const;
export const ReconcileResultSchema = z.enum(RECONCILE_RESULTS);
export type ReconcileResult = z.infer<typeof ReconcileResultSchema>;

export const ReconcileReportSchema = z.strictObject({
  venue: VenueSchema,
  result: ReconcileResultSchema,
  /** `venue_update`: a venue push showed what orch did not do (an order changed or placed outside orch). */
  trigger: z.enum(['start', 'reconnect', 'periodic', 'operator', 'venue_update']),
  differences: z.array(DifferenceSchema),
  error: z.string().optional(),
  ts,
});
export type ReconcileReport = z.infer<typeof ReconcileReportSchema>;

export const LogEventSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('intent'), ...order, intent: IntentSchema }),
  z.strictObject({
    kind: z.literal('decision'), ...order,
    decision: z.enum(['accepted', 'denied']),
    rule: z.string().optional(),
    reason: z.string().optional(),
    figures: Figures.optional(),
  }),
  z.strictObject({
    kind: z.literal('venue_write'), ...order, venue: VenueSchema, op: WriteOpSchema, request: VenueRequestSchema.optional(), venueOrderId: z.string().optional(),
    change: OrderChangeSchema.optional(),
  }),
  z.strictObject({
    kind: z.literal('venue_answer'), ...order, venue: VenueSchema, op: WriteOpSchema,
    venueOrderId: z.string().optional(),
    /** A modify the venue took: the projection gives the target order its new quantity and price. */
    change: OrderChangeSchema.optional(),
    duplicate: z.boolean().optional(),
    error: VenueErrorWireSchema.optional(),
  }),
  z.strictObject({
    kind: z.literal('order_state'), ...order, venue: VenueSchema,
    venueOrderId: z.string().optional(),
    state: OrderStateSchema,
    venueStatus: z.string(),
    filledQty: intId.nonnegative(),
    avgPrice: price.optional(),
    message: z.string().optional(),
    /**
     * The venue shows the open order at another total quantity or limit price than the log
     * (a modify that landed while its answer was lost, a change made outside orch): the venue wins.
     */
    qty: intId.positive().optional(),
    limitPrice: price.optional(),
  }),
  z.strictObject({ kind: z.literal('fill'), ...order, venue: VenueSchema, venueOrderId: z.string(), symbol: z.string().min(1), side: SideSchema, fill: FillSchema }),
  /** An order found at the venue with our tag/client id that the log had no record of. */
  z.strictObject({
    kind: z.literal('adopt'), ...order, venue: VenueSchema, venueOrderId: oid, symbol: z.string().min(1), side: SideSchema,
    qty: intId.positive(), limitPrice: price.optional(),
  }),
  z.strictObject({
    kind: z.literal('kill'), ts, strategyId: z.string().optional(), intentId: z.string().optional(),
    level: KillLevelSchema, scope: KillScopeSchema, reason: z.string(), by: z.string(), revision: intId.nonnegative(),
    /** What tripped an automated raise: the limit and the actual figure. */
    figures: Figures.optional(),
  }),
  z.strictObject({ kind: z.literal('reconcile'), ts, strategyId: z.string().optional(), intentId: z.string().optional(), report: ReconcileReportSchema }),
  z.strictObject({ kind: z.literal('broker'), ts, strategyId: z.string().optional(), intentId: z.string().optional(), event: BrokerEventSchema }),
  z.strictObject({ kind: z.literal('lease'), ts, strategyId: z.string().optional(), intentId: z.string().optional(), holder: z.string(), action: z.enum(['acquired', 'lost', 'released']) }),
  /**
   * Stands in for an event too large to store (broker/event-log.ts): its kind, ids, size and
   * first bytes, so the gap is visible and explained, and the events behind it are stored.
   */
  z.strictObject({
    kind: z.literal('oversize'), ts, strategyId: z.string().optional(), intentId: z.string().optional(),
    originalKind: z.string(), bytes: intId.nonnegative(), head: z.string(),
  }),
]);
export type LogEvent = z.infer<typeof LogEventSchema>;
export type LogEventKind = LogEvent['kind'];
export type EventOf<K extends LogEventKind> = Extract<LogEvent, { kind: K }>;

/** A log entry as read back: the event plus where the stream put it. */
export type StoredEvent = { seq: number; time: string; event: LogEvent };
