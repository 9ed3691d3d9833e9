import type { OrderState, Side, Venue } from '../actors/messages.ts';
import type { TickMode } from '../config/tick-mode.ts';
import { TypedEmitter } from './connection/emitter.ts';

/**
 * What the broker actor needs from a venue. Each venue (kite/, kalshi/) implements it over its
 * own thin clients; the broker actor never sees a wire format.
 */
export type VenueTick = { symbol: string; ts: number; last: number; bid?: number; ask?: number; volume?: number };

export type VenueOrderRequest = {
  /** The intent id; the adapter derives the venue's idempotency key from it (Kite tag, Kalshi client_order_id). */
  intentId: string;
  symbol: string;
  side: Side;
  qty: number;
  orderType: 'LIMIT' | 'MARKET';
  limitPrice?: number;
  /**
   * Kite's `market_protection` for a MARKET order: -1 (Kite's automatic band) or a percentage.
   * From the strategy's registry entry, or the kill switch's flatten setting; venues without it ignore it.
   */
  marketProtection?: number;
};

/**
 * A change to an order resting at the venue: the order's whole new shape, not a difference.
 * `qty` is the new total (what has filled included), as Kite's `quantity` and Kalshi's amend
 * `count` both define it; the broker has checked that it exceeds what has filled.
 */
export type VenueModifyRequest = {
  venueOrderId: string;
  symbol: string;
  side: Side;
  orderType: 'LIMIT' | 'MARKET';
  qty: number;
  limitPrice?: number;
  /** Kite: a MARKET order carries its protection on a modify too (docs/venues/kite.md "Market protection"). */
  marketProtection?: number;
};

export type VenueOrder = {
  venueOrderId: string;
  /** The intent id recovered from the venue's tag/client id, when the order is ours. */
  intentId?: string;
  symbol: string;
  side: Side;
  qty: number;
  filledQty: number;
  /** Average fill price, minor units. */
  avgPrice?: number;
  limitPrice?: number;
  state: OrderState;
  venueStatus: string;
  message?: string;
  ts: number;
};

export type VenueFill = { fillId: string; venueOrderId: string; intentId?: string; symbol: string; side: Side; qty: number; price: number; ts: number };

/**
 * What reconciliation asks the venue about besides what rests there now: everything that
 * happened since `sinceMs` (orders created, fills), and each order the log holds as unfinished,
 * found or not. An order that filled or was cancelled while the broker was down is in neither
 * the resting list nor the adapter's memory; only the venue's history shows it.
 */
export type HistoryQuery = {
  /** Epoch ms: the log's last event (or its oldest unfinished write, if older), less a margin for clock skew. */
  sinceMs: number;
  /** The log's unfinished orders at this venue; those without a venue id are found by their intent id. */
  open: readonly { intentId: string; venueOrderId?: string }[];
};

/** A venue's own order rules, checked before any write (Kite's instrument list, lots and ticks). */
export type VenueOrderRule = 'unknown_instrument' | 'lot_size' | 'tick_size';
export type OrderRuleViolation = { rule: VenueOrderRule; reason: string; figures: Record<string, number | string> };

export type VenuePosition = { symbol: string; qty: number; avgPrice: number };

export type VenueEvents = {
  tick: (t: VenueTick) => void;
  /** Latest known state of an order (push or poll); may repeat: consumers merge idempotently. */
  order: (o: VenueOrder) => void;
  fill: (f: VenueFill) => void;
  disconnected: (reason: string) => void;
  reconnected: () => void;
  /**
   * The venue link asks the broker to reconcile: after a reconnect (no argument), or
   * 'venue_update' when a push showed what orch did not do (an order changed or placed outside
   * orch, a fill of an order orch does not know).
   */
  reconcile: (trigger?: 'venue_update') => void;
};

export interface VenueAdapter {
  readonly venue: Venue;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * The union of instruments live strategies need; the adapter (un)subscribes the difference.
   * `modes` gives each instrument's market-data mode where the venue has modes (Kite).
   */
  setInstruments(symbols: readonly string[], modes?: ReadonlyMap<string, TickMode | undefined>): Promise<void>;
  /**
   * What the venue would refuse this order for, known before sending (lot size, price grid):
   * the broker denies it up front, nothing is logged as a venue write. Optional.
   */
  checkOrder?(req: VenueOrderRequest): OrderRuleViolation | undefined;
  /**
   * Whether the venue lists this instrument (the registry is checked against it at start and
   * at reload). Undefined = the venue cannot tell now (it is not refused for that). Optional:
   * an adapter without it accepts every symbol.
   */
  knows?(symbol: string): Promise<boolean | undefined>;
  /** The shared limiter's category a place spends (the broker asks how long one would wait). */
  readonly placeCategory?: string;
  /** What one place costs in that category (Kalshi bills tokens per request); default 1. */
  readonly placeCost?: number;
  /** The limiter category a modify spends (Kite: its modify/cancel family; Kalshi: the write bucket). */
  readonly modifyCategory?: string;
  /** What one modify costs in that category; default 1. */
  readonly modifyCost?: number;
  /** The most modifications the venue takes per order (Kite: 25); absent = no cap. */
  readonly maxModificationsPerOrder?: number;
  /**
   * `sendAfter` is the write-ahead: it resolves once the event log holds this write. The order
   * may be prepared meanwhile (limiter, encoding), but no byte of it may leave before; if it
   * rejects, `place` fails with that same error and sends nothing.
   */
  place(req: VenueOrderRequest, priority: 'place' | 'kill', sendAfter: Promise<void>): Promise<{ venueOrderId: string; duplicate?: boolean }>;
  cancel(venueOrderId: string, priority?: 'cancel' | 'kill'): Promise<void>;
  /**
   * Changes a resting order's price or quantity in place (the same venue order, no second one),
   * at the limiter's modify priority. Resolves once the venue took the change; a write whose
   * answer was lost is looked up before it is tried again. Absent: the broker denies modifies.
   */
  modify?(req: VenueModifyRequest): Promise<void>;
  openOrders(): Promise<VenueOrder[]>;
  /**
   * Every order of ours the venue knows of that matters now: at least those resting; with
   * `history`, also those created or filled since `history.sinceMs` and each of `history.open`,
   * whatever their state (reconciliation reads fills from here).
   */
  orders(history?: HistoryQuery): Promise<VenueOrder[]>;
  positions(): Promise<VenuePosition[]>;
  connected(): boolean;
  /**
   * After a restart, the intent ids from the event log, so the adapter recognises our orders
   * at the venue: Kite's tag is a digest of the intent id; Kalshi's client_order_id is the
   * intent id itself, and one that is not in the log belongs to another app or a person.
   */
  rememberIntent?(intentId: string): void;
  on<E extends keyof VenueEvents>(event: E, fn: VenueEvents[E]): void;
}

/**
 * The listener lists every adapter keeps: one place, so each adapter only says what it emits.
 * The connection kit's emitter: a listener that throws is reported and the others still run.
 */
type VenueEventArgs = { [E in keyof VenueEvents]: Parameters<VenueEvents[E]> };
export class VenueEventHub {
  private readonly emitter: TypedEmitter<VenueEventArgs>;
  constructor(onListenerError?: (event: string, err: unknown) => void) {
    this.emitter = new TypedEmitter(onListenerError);
  }
  on<E extends keyof VenueEvents>(event: E, fn: VenueEvents[E]): void {
    this.emitter.on(event, fn as (...args: VenueEventArgs[E]) => void);
  }
  emit<E extends keyof VenueEvents>(event: E, ...args: Parameters<VenueEvents[E]>): void {
    this.emitter.emit(event, ...(args as VenueEventArgs[E]));
  }
}
