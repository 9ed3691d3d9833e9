import { mergeVenueOrder, type OrderRecord } from '../order-book.ts';
import type { VenueOrder } from '../venue.ts';
import type { EventOf, LogEvent } from '../events/schema.ts';
import type { Projection } from './projection.ts';
import type { Venue } from '../../actors/messages.ts';

/** An event to append, with the message id that makes its append idempotent. */
export type Emit = { event: LogEvent; msgId?: string };

export function findOrder(p: Projection, o: Pick<VenueOrder, 'venueOrderId' | 'intentId'>): OrderRecord | undefined {
  return p.book.byVenueOrderId(o.venueOrderId) ?? (o.intentId ? p.book.get(o.intentId) : undefined);
}

/**
 * What a venue report means for the log: a fill (if the filled quantity grew) and the order's
 * new state (if anything moved). Pure: merges into a copy, so the projection changes only when
 * the events are applied. Used by live updates and by reconciliation alike.
 */
export function orderUpdateEvents(p: Projection, venue: Venue, o: VenueOrder, now: number): Emit[] {
  const rec = findOrder(p, o);
  return rec ? recordUpdateEvents(rec, venue, o, now) : [];
}

/** The same for a given record (reconciliation passes one it is about to adopt). */
export function recordUpdateEvents(rec: OrderRecord, venue: Venue, o: VenueOrder, now: number): Emit[] {
  const copy: OrderRecord = { ...rec };
  const binds = !copy.venueOrderId;
  if (binds) copy.venueOrderId = o.venueOrderId;
  const r = mergeVenueOrder(copy, o);
  const out: Emit[] = [];
  if (r.fill) {
    out.push({
      event: { kind: 'fill', strategyId: rec.strategyId, intentId: rec.intentId, ts: r.fill.ts, venue, venueOrderId: o.venueOrderId, symbol: rec.symbol, side: rec.side, fill: r.fill },
      msgId: `fill:${r.fill.fillId}`,
    });
  }
  if (r.changed || binds) {
    const ev = orderStateEvent(copy, venue, now);
    if (r.reshaped) Object.assign(ev, { qty: copy.qty }, copy.limitPrice !== undefined ? { limitPrice: copy.limitPrice } : {});
    out.push({ event: ev });
  }
  return out;
}

export function orderStateEvent(rec: OrderRecord, venue: Venue, now: number): EventOf<'order_state'> {
  return {
    kind: 'order_state', strategyId: rec.strategyId, intentId: rec.intentId, ts: now, venue, state: rec.state, venueStatus: rec.venueStatus, filledQty: rec.filledQty,
    ...(rec.venueOrderId ? { venueOrderId: rec.venueOrderId } : {}),
    ...(rec.avgPrice !== undefined ? { avgPrice: rec.avgPrice } : {}),
    ...(rec.message ? { message: rec.message } : {}),
  };
}
