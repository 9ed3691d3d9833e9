import type { OrderState, PlaceIntent, Fill, Side, Venue } from '../actors/messages.ts';
import type { VenueOrder } from './venue.ts';

/**
 * The broker's record of every order it placed, keyed by intent id and by venue order id.
 * Venue updates arrive from several paths (push, ticker, polling) in any order and possibly
 * twice; `apply` merges them so state only moves forward and each fill is counted once.
 */
export type OrderRecord = {
  intentId: string;
  strategyId: string;
  venue: Venue;
  symbol: string;
  side: Side;
  /** The order's total quantity; a modify the venue took changes it (and `limitPrice`). */
  qty: number;
  limitPrice?: number;
  /** Modify requests written for this order (each one sent or about to be): Kite caps them per order. */
  modifies?: number;
  /**
   * The shapes orch asked the venue for that may rest there now: as placed (or adopted), then
   * every modify written since the last one the venue confirmed (a write whose answer was lost
   * may have landed). Reconciliation calls any other shape at the venue a change made outside orch.
   */
  asked?: OrderShape[];
  /** As placed; unknown for an adopted order (a limit price then says LIMIT). */
  orderType?: 'LIMIT' | 'MARKET';
  venueOrderId?: string;
  state: OrderState;
  venueStatus: string;
  filledQty: number;
  avgPrice?: number;
  message?: string;
  createdTs: number;
  updatedTs: number;
};

/** An order's quantity (the total, filled included) and limit price (minor units; none for MARKET). */
export type OrderShape = { qty: number; limitPrice?: number };

const shapeOf = (o: { qty: number; limitPrice?: number }): OrderShape => (o.limitPrice !== undefined ? { qty: o.qty, limitPrice: o.limitPrice } : { qty: o.qty });

const RANK: Record<OrderState, number> = { pending: 0, open: 1, partially_filled: 2, filled: 3, cancelled: 3, rejected: 3 };
export const isTerminal = (s: OrderState) => s === 'filled' || s === 'cancelled' || s === 'rejected';

/** `reshaped`: the venue showed the open order at another quantity or limit price, which the record took. */
export type ApplyResult = { record: OrderRecord; changed: boolean; fill?: Fill; reshaped?: boolean };

export class OrderBook {
  private readonly byIntent = new Map<string, OrderRecord>();
  private readonly byVenueId = new Map<string, string>();

  get(intentId: string): OrderRecord | undefined {
    return this.byIntent.get(intentId);
  }
  byVenueOrderId(venueOrderId: string): OrderRecord | undefined {
    const id = this.byVenueId.get(venueOrderId);
    return id ? this.byIntent.get(id) : undefined;
  }
  all(): OrderRecord[] {
    return [...this.byIntent.values()];
  }
  open(strategyId?: string): OrderRecord[] {
    return this.all().filter((o) => !isTerminal(o.state) && (strategyId === undefined || o.strategyId === strategyId));
  }

  register(intent: PlaceIntent, now: number): OrderRecord {
    const rec: OrderRecord = {
      intentId: intent.intentId, strategyId: intent.strategyId, venue: intent.venue, symbol: intent.symbol, side: intent.side,
      qty: intent.qty, orderType: intent.orderType, state: 'pending', venueStatus: 'NEW', filledQty: 0, createdTs: now, updatedTs: now,
      ...(intent.limitPrice !== undefined ? { limitPrice: intent.limitPrice } : {}),
      asked: [shapeOf(intent)],
    };
    this.byIntent.set(rec.intentId, rec);
    return rec;
  }

  /** Adopts an order found at the venue that carries our id but that we had no record of. */
  adopt(o: VenueOrder & { intentId: string }, strategyId: string, venue: Venue): OrderRecord {
    const rec: OrderRecord = {
      intentId: o.intentId, strategyId, venue, symbol: o.symbol, side: o.side, qty: o.qty, state: 'pending', venueStatus: 'ADOPTED',
      filledQty: 0, createdTs: o.ts, updatedTs: o.ts, venueOrderId: o.venueOrderId,
      ...(o.limitPrice !== undefined ? { limitPrice: o.limitPrice } : {}),
      asked: [shapeOf(o)],
    };
    this.byIntent.set(rec.intentId, rec);
    this.byVenueId.set(o.venueOrderId, rec.intentId);
    return rec;
  }

  bind(intentId: string, venueOrderId: string): void {
    const rec = this.byIntent.get(intentId);
    if (!rec) return;
    rec.venueOrderId = venueOrderId;
    this.byVenueId.set(venueOrderId, intentId);
  }

  /** A modify the venue took: the same venue order, at its new total quantity and price. */
  change(intentId: string, c: { qty: number; limitPrice?: number }, now: number): OrderRecord | undefined {
    const rec = this.byIntent.get(intentId);
    if (!rec || isTerminal(rec.state)) return rec;
    rec.qty = c.qty;
    if (c.limitPrice !== undefined) rec.limitPrice = c.limitPrice;
    rec.asked = [shapeOf(rec)];
    rec.updatedTs = now;
    return rec;
  }

  /** A modify written ahead (not yet confirmed): its shape may rest at the venue from now on. */
  asking(intentId: string, c: { qty: number; limitPrice?: number }): void {
    const rec = this.byIntent.get(intentId);
    if (!rec) return;
    rec.modifies = (rec.modifies ?? 0) + 1;
    rec.asked = [...(rec.asked ?? []), shapeOf({ qty: c.qty, ...(c.limitPrice !== undefined ? { limitPrice: c.limitPrice } : {}) })];
  }

  reject(intentId: string, message: string, now: number): OrderRecord | undefined {
    const rec = this.byIntent.get(intentId);
    if (!rec || isTerminal(rec.state)) return rec;
    rec.state = 'rejected';
    rec.venueStatus = 'REJECTED';
    rec.message = message;
    rec.updatedTs = now;
    return rec;
  }

  /** Merges a venue report into the record it belongs to. */
  apply(o: VenueOrder): ApplyResult | undefined {
    let rec = this.byVenueOrderId(o.venueOrderId);
    if (!rec && o.intentId) {
      rec = this.byIntent.get(o.intentId);
      if (rec && !rec.venueOrderId) {
        // Rejected here with no venue id: our write's outcome was unknown, and the venue says it
        // landed. Its word wins, or the order would be invisible to limits and to cancelAll.
        if (rec.state === 'rejected') {
          rec.state = 'pending';
          rec.venueStatus = 'FOUND';
          delete rec.message;
        }
        this.bind(rec.intentId, o.venueOrderId);
      }
    }
    if (!rec) return undefined;
    return mergeVenueOrder(rec, o);
  }
}

/** Forward-only merge: stale or duplicate reports change nothing; fills come from growth of the filled quantity. */
export function mergeVenueOrder(rec: OrderRecord, o: VenueOrder): ApplyResult {
  if (isTerminal(rec.state) && o.filledQty <= rec.filledQty) return { record: rec, changed: false };
  let fill: Fill | undefined;
  if (o.filledQty > rec.filledQty) {
    const delta = o.filledQty - rec.filledQty;
    const prevNotional = (rec.avgPrice ?? 0) * rec.filledQty;
    const nextNotional = (o.avgPrice ?? rec.avgPrice ?? rec.limitPrice ?? 0) * o.filledQty;
    const price = Math.max(0, Math.round((nextNotional - prevNotional) / delta));
    // Deterministic id: the same cumulative quantity from any path is the same fill.
    fill = { fillId: `${o.venueOrderId}:${o.filledQty}`, qty: delta, price, ts: o.ts };
    rec.filledQty = o.filledQty;
    if (o.avgPrice !== undefined) rec.avgPrice = o.avgPrice;
  }
  // The venue's shape of a live order wins: a modify can land without its answer reaching us.
  const reshaped = !isTerminal(rec.state) && ((o.qty > 0 && o.qty !== rec.qty) || (o.limitPrice !== undefined && o.limitPrice !== rec.limitPrice));
  if (reshaped) {
    if (o.qty > 0) rec.qty = o.qty;
    if (o.limitPrice !== undefined) rec.limitPrice = o.limitPrice;
  }
  const stateMoves = RANK[o.state] > RANK[rec.state] || (o.state !== rec.state && RANK[o.state] === RANK[rec.state] && !isTerminal(rec.state));
  const changed = reshaped || stateMoves || fill !== undefined || (o.venueStatus !== rec.venueStatus && !isTerminal(rec.state));
  if (stateMoves) rec.state = o.state;
  if (rec.state === 'open' && rec.filledQty > 0 && rec.filledQty < rec.qty) rec.state = 'partially_filled';
  if (changed) {
    if (!isTerminal(rec.state) || stateMoves) rec.venueStatus = o.venueStatus;
    if (o.message) rec.message = o.message;
    rec.updatedTs = o.ts;
  }
  return { record: rec, changed, ...(fill ? { fill } : {}), ...(reshaped ? { reshaped } : {}) };
}
