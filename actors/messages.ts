import { z } from 'zod';

/**
 * Every payload on the data plane, defined once. Prices are exact integers in the venue's
 * minor unit: paise for Kite, hundredths of a cent for Kalshi. Quantities are integers
 * (shares/lots for Kite, hundredths of a contract for Kalshi).
 */
const id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');

/**
 * Every field has a bound, so every message has one: a 900 KB symbol once made its refusal
 * event too big for the event log, and the log stalled behind it for everyone. The longest
 * real values (a Kalshi ticker, a Kite `EXCHANGE:TRADINGSYMBOL`) are well under these.
 */
export const MAX_SYMBOL = 128;
/** Free text: a denial's reason, a venue's message, a kill reason. */
export const MAX_TEXT = 1_024;
/** Short machine strings: a rule, a venue status, a venue's order id, an actor id. */
export const MAX_NAME = 128;
/** Entries of a `figures` record. */
export const MAX_FIGURES = 16;
/**
 * Largest payload a subscription parses (bytes); a bigger one is dead-lettered at the door,
 * unread. An intent is under 1 KB; the largest message (a worker's metrics snapshot) is far
 * under this. NATS's own limit (1 MiB by default) is not a bound worth relying on.
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** An intent is under 1 KB: anything near this is not an intent. */
export const MAX_INTENT_BYTES = 8 * 1024;

const symbol = z.string().min(1).max(MAX_SYMBOL);
const text = z.string().max(MAX_TEXT);
const name = z.string().max(MAX_NAME);
const figures = z.record(z.string().max(MAX_NAME), z.union([z.number(), z.string().max(MAX_NAME)]))
  .refine((r) => Object.keys(r).length <= MAX_FIGURES, `at most ${MAX_FIGURES} figures`);

/** Cuts free text to its bound (by UTF-16 units), marking the cut: for text built from venue answers or other input. */
export function clip(s: string, max = MAX_TEXT): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

const int = z.number().int();
const posInt = int.positive();
const price = int.nonnegative();
const ts = int.nonnegative();

/** The venues a strategy trades on, each with its own adapter in broker/. */
export const VENUES = ['kite', 'kalshi'] as const;
export const VenueSchema = z.enum(VENUES);
export type Venue = z.infer<typeof VenueSchema>;

/**
 * A tick's `seq` is `epoch * TICK_EPOCH_SPAN + n`: `n` counts the instrument's ticks from 1, and
 * the epoch is the publishing broker's lease epoch (broker/lease.ts), above every earlier broker's.
 * A standby that takes over so numbers its ticks above the ones strategies have seen from its
 * predecessor, and a strategy tells the new broker's first tick from a gap: its epoch differs.
 */
export const TICK_EPOCH_SPAN = 2 ** 21;
/** The broker epoch a tick's seq belongs to. */
export const tickEpoch = (seq: number): number => Math.floor(seq / TICK_EPOCH_SPAN);

export const TickSchema = z.strictObject({
  type: z.literal('tick'),
  venue: VenueSchema,
  symbol,
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
  symbols: z.array(symbol).min(1).max(500),
});
export const LastTicksReplySchema = z.strictObject({ ticks: z.array(TickSchema) });

export const SideSchema = z.enum(['BUY', 'SELL']);
export type Side = z.infer<typeof SideSchema>;

const intentBase = { intentId: id, strategyId: id, ts };

export const PlaceIntentSchema = z.strictObject({
  ...intentBase,
  action: z.literal('place'),
  venue: VenueSchema,
  symbol,
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
  z.strictObject({ status: z.literal('accepted'), intentId: id, venueOrderId: name.optional(), duplicate: z.boolean().optional() }),
  z.strictObject({
    status: z.literal('denied'),
    intentId: name,
    /** Machine-readable rule: e.g. kill_level, max_order_qty, broker_disconnected, invalid_payload. */
    rule: name,
    reason: text,
    figures: figures.optional(),
  }),
]);
export type IntentReply = z.infer<typeof IntentReplySchema>;

/**
 * broker → strategy (reply on `orch.broker.state.<id>`): what a starting strategy holds. Its
 * positions (net, from its fills) and its open orders, with what each has filled, as the
 * broker's projection of the event log has them when it answers.
 */
export const StrategyStateRequestSchema = z.strictObject({});
export const StrategyStateReplySchema = z.strictObject({
  positions: z.array(z.strictObject({ symbol, qty: int })),
  openOrders: z.array(z.strictObject({
    intentId: id,
    symbol,
    side: z.enum(['BUY', 'SELL']),
    qty: posInt,
    filledQty: int.nonnegative(),
    limitPrice: price.optional(),
    state: z.enum(['pending', 'open', 'partially_filled']),
  })),
});
export type StrategyStateReply = z.infer<typeof StrategyStateReplySchema>;

export const ORDER_STATES = ['pending', 'open', 'partially_filled', 'filled', 'cancelled', 'rejected'] as const;
export const OrderStateSchema = z.enum(ORDER_STATES);
export type OrderState = z.infer<typeof OrderStateSchema>;

export const FillSchema = z.strictObject({ fillId: name.min(1), qty: posInt, price, ts });
export type Fill = z.infer<typeof FillSchema>;

export const OrderUpdateSchema = z.strictObject({
  type: z.literal('order'),
  strategyId: id,
  intentId: id,
  venue: VenueSchema,
  venueOrderId: name.min(1),
  symbol,
  side: SideSchema,
  state: OrderStateSchema,
  /** The venue's own status string (e.g. Kite's "OPEN PENDING"). */
  venueStatus: name,
  qty: posInt,
  filledQty: int.nonnegative(),
  avgPrice: price.optional(),
  fill: FillSchema.optional(),
  message: text.optional(),
  ts,
});
export type OrderUpdate = z.infer<typeof OrderUpdateSchema>;

export const BrokerEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('BrokerReady'), ts }),
  z.strictObject({ type: z.literal('BrokerDisconnected'), venue: VenueSchema, reason: text, ts }),
  z.strictObject({ type: z.literal('BrokerReconnected'), venue: VenueSchema, ts }),
  z.strictObject({
    type: z.literal('Reconciled'),
    venue: VenueSchema,
    /** `ok` or `resolved`: the log agrees with the venue now (a failed run is not ok). */
    ok: z.boolean(),
    /** `error`: the run failed to compare at all (venue unreachable...), which is no evidence of a mismatch. */
    result: z.enum(['ok', 'resolved', 'mismatch', 'error']),
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
  reason: text.min(1),
  /** operator | automation:<trigger> */
  by: name.min(1),
  ts,
  /** Monotonic revision from the KV store: an actor ignores a broadcast older than what it has. */
  revision: int.nonnegative(),
  figures: figures.optional(),
  /**
   * Sent before the raise is stored, so the halt does not wait on JetStream: `revision` is the
   * last one the raiser knew. Only a raise is ever provisional (halting early is safe), and the
   * raiser always follows it with the stored outcome (docs/kill-switch.md, "Fast path").
   */
  provisional: z.literal(true).optional(),
});
export type KillMessage = z.infer<typeof KillMessageSchema>;

export const KillAckSchema = z.strictObject({
  type: z.literal('kill_ack'), actorId: name, revision: int.nonnegative(), level: KillLevelSchema, ts,
  /** `gate`: the supervisor closed the strategy's shared kill gate for it (actors/kill-gate.ts); default: the actor itself. */
  via: z.enum(['actor', 'gate']).optional(),
  provisional: z.literal(true).optional(),
});
export type KillAck = z.infer<typeof KillAckSchema>;

/** A strategies host's supervisor saw one of its actors crash (subjects.actorCrashed). */
export const ActorCrashedSchema = z.strictObject({ type: z.literal('actor_crashed'), actorId: name, ts });
export type ActorCrashed = z.infer<typeof ActorCrashedSchema>;

export const HealthSchema = z.strictObject({
  type: z.literal('health'),
  actorId: name,
  state: z.enum(['starting', 'running', 'paused', 'stopping', 'stopped', 'halted']),
  ticks: int.nonnegative(),
  tickGaps: int.nonnegative(),
  /** Ticks replaced by a newer one of the same instrument before the strategy took them. */
  ticksConflated: int.nonnegative().optional(),
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
