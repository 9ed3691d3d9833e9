import { z } from 'zod';
import { VENUES } from './subjects.ts';

/**
 * Every payload on the data plane, defined once. Prices are exact integers in the venue's
 * minor unit: paise for Kite, hundredths of a cent for Kalshi. Quantities are integers
 * (shares/lots for Kite, hundredths of a contract for Kalshi).
 */
const id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');
const int = z.number().int();
const posInt = int.positive();
const price = int.nonnegative();
const ts = int.nonnegative();

export const VenueSchema = z.enum(VENUES);

export const TickSchema = z.strictObject({
  type: z.literal('tick'),
  venue: VenueSchema,
  symbol: z.string().min(1),
  /** Per-symbol sequence assigned by the broker: a strategy sees a gap as a lost tick. */
  seq: posInt,
  /** Exchange time of the tick (ms). */
  ts,
  /** When the broker received it (ms), for tick-lag measurements. */
  recvTs: ts,
  last: price,
  bid: price.optional(),
  ask: price.optional(),
  volume: int.nonnegative().optional(),
});
export type Tick = z.infer<typeof TickSchema>;

/**
 * strategy → broker, request/reply: the last tick of each instrument, as published. A market
 * that does not move sends nothing after its first snapshot, so a strategy that starts later
 * (a restart, a hot reload, a worker up after the broker subscribed) would otherwise wait for
 * a tick that never comes.
 */
export const LastTicksRequestSchema = z.strictObject({
  venue: VenueSchema,
  symbols: z.array(z.string().min(1)).min(1).max(500),
});
export const LastTicksReplySchema = z.strictObject({ ticks: z.array(TickSchema) });

export const SideSchema = z.enum(['BUY', 'SELL']);
export type Side = z.infer<typeof SideSchema>;

const intentBase = { intentId: id, strategyId: id, ts };

export const PlaceIntentSchema = z.strictObject({
  ...intentBase,
  action: z.literal('place'),
  venue: VenueSchema,
  symbol: z.string().min(1),
  side: SideSchema,
  qty: posInt,
  orderType: z.enum(['LIMIT', 'MARKET']),
  limitPrice: price.optional(),
  /** The strategy's claim; the gate checks it against the position. */
  reduceOnly: z.boolean().optional(),
});
export const CancelIntentSchema = z.strictObject({
  ...intentBase,
  action: z.literal('cancel'),
  targetIntentId: id,
});
export const ModifyIntentSchema = z.strictObject({
  ...intentBase,
  action: z.literal('modify'),
  targetIntentId: id,
  qty: posInt.optional(),
  limitPrice: price.optional(),
});
export const IntentSchema = z.discriminatedUnion('action', [PlaceIntentSchema, CancelIntentSchema, ModifyIntentSchema]);
export type PlaceIntent = z.infer<typeof PlaceIntentSchema>;
export type CancelIntent = z.infer<typeof CancelIntentSchema>;
export type ModifyIntent = z.infer<typeof ModifyIntentSchema>;
export type Intent = z.infer<typeof IntentSchema>;

export const IntentReplySchema = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('accepted'), intentId: id, venueOrderId: z.string().optional(), duplicate: z.boolean().optional() }),
  z.strictObject({
    status: z.literal('denied'),
    intentId: z.string(),
    /** Machine-readable rule: e.g. kill_level, max_order_qty, broker_disconnected, invalid_payload. */
    rule: z.string(),
    reason: z.string(),
    figures: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
  }),
]);
export type IntentReply = z.infer<typeof IntentReplySchema>;

export const ORDER_STATES = ['pending', 'open', 'partially_filled', 'filled', 'cancelled', 'rejected'] as const;
export const OrderStateSchema = z.enum(ORDER_STATES);
export type OrderState = z.infer<typeof OrderStateSchema>;

export const FillSchema = z.strictObject({ fillId: z.string().min(1), qty: posInt, price, ts });
export type Fill = z.infer<typeof FillSchema>;

export const OrderUpdateSchema = z.strictObject({
  type: z.literal('order'),
  strategyId: id,
  intentId: id,
  venue: VenueSchema,
  venueOrderId: z.string().min(1),
  symbol: z.string().min(1),
  side: SideSchema,
  state: OrderStateSchema,
  /** The venue's own status string (e.g. Kite's "OPEN PENDING"). */
  venueStatus: z.string(),
  qty: posInt,
  filledQty: int.nonnegative(),
  avgPrice: price.optional(),
  fill: FillSchema.optional(),
  message: z.string().optional(),
  ts,
});
export type OrderUpdate = z.infer<typeof OrderUpdateSchema>;

export const BrokerEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('BrokerReady'), ts }),
  z.strictObject({ type: z.literal('BrokerDisconnected'), venue: VenueSchema, reason: z.string(), ts }),
  z.strictObject({ type: z.literal('BrokerReconnected'), venue: VenueSchema, ts }),
  z.strictObject({
    type: z.literal('Reconciled'),
    venue: VenueSchema,
    ok: z.boolean(),
    differences: int.nonnegative(),
    ts,
  }),
]);
export type BrokerEvent = z.infer<typeof BrokerEventSchema>;

export const KILL_LEVELS = [0, 1, 2, 3, 4] as const;
export const KillLevelSchema = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.literal(4)]);
export type KillLevel = z.infer<typeof KillLevelSchema>;
export const KILL_LEVEL_NAMES: Record<KillLevel, string> = {
  0: 'ACTIVE',
  1: 'STRATEGY HALT',
  2: 'REDUCE ONLY',
  3: 'HALT ALL',
  4: 'FLATTEN',
};

export const KillScopeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('global') }),
  z.strictObject({ kind: z.literal('strategy'), strategyId: id }),
]);
export type KillScope = z.infer<typeof KillScopeSchema>;

export const KillMessageSchema = z.strictObject({
  type: z.literal('kill'),
  level: KillLevelSchema,
  scope: KillScopeSchema,
  reason: z.string().min(1),
  /** operator | automation:<trigger> */
  by: z.string().min(1),
  ts,
  /** Monotonic revision from the KV store: an actor ignores a broadcast older than what it has. */
  revision: int.nonnegative(),
  figures: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
});
export type KillMessage = z.infer<typeof KillMessageSchema>;

export const KillAckSchema = z.strictObject({ type: z.literal('kill_ack'), actorId: z.string(), revision: int.nonnegative(), level: KillLevelSchema, ts });
export type KillAck = z.infer<typeof KillAckSchema>;

export const HealthSchema = z.strictObject({
  type: z.literal('health'),
  actorId: z.string(),
  state: z.enum(['starting', 'running', 'paused', 'stopping', 'stopped', 'halted']),
  ticks: int.nonnegative(),
  tickGaps: int.nonnegative(),
  intents: int.nonnegative(),
  ts,
});
export type Health = z.infer<typeof HealthSchema>;

export const DeadLetterSchema = z.strictObject({ subject: z.string(), error: z.string(), raw: z.string(), ts });
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

/** Short human text of a zod failure, naming each field. */
export function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
