import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { clip, MAX_NAME, type Fill, type OrderUpdate, type Venue } from '../actors/messages.ts';
import { metrics } from '../actors/metrics.ts';
import type { Ledger } from './ledger.ts';
import { isTerminal, type OrderRecord } from './order-book.ts';
import { findOrder, orderUpdateEvents, type Emit } from './projection/order-events.ts';
import { shapeDifferences } from './reconcile/reconcile.ts';
import type { VenueAdapter, VenueOrder } from './venue.ts';

/**
 * What the venues say about orders, into the ledger and on to the strategy that owns each one:
 * live pushes, REST polls and reconciliation's findings all take this one way. While a
 * reconciliation of a venue compares, that venue's live reports wait (`hold`).
 */
export class OrderUpdates {
  private readonly held = new Map<Venue, VenueOrder[]>();

  constructor(private readonly o: {
    ledger: Ledger; clock: Clock; log: Logger; publish: (update: OrderUpdate) => void;
    /**
     * A live report shows what orch did not do: an open order of ours re-shaped to a price or
     * quantity no intent asked for, or an order that is not ours in a state not reported yet
     * (by hand at the venue, another app). Reconciliation is asked to report it now
     * (`order_changed`, `unrecognised_order`, a `position` its fills leave), not at its next
     * periodic run.
     */
    outsideChange?: (venue: Venue) => void;
  }) {}

  /**
   * `afterRun`: a report held during a reconciliation, released before that run's report is
   * recorded; an order not ours in it is on that report, so it asks for no second run. (A shape
   * the run took is the record's already and asks for nothing either.)
   */
  onVenueOrder(venue: Venue, order: VenueOrder, afterRun = false): void {
    const held = this.held.get(venue);
    if (held) return void held.push(order);
    const { ledger } = this.o;
    if (this.o.outsideChange && this.changedOutside(venue, order)) this.o.outsideChange(venue);
    const emits = orderUpdateEvents(ledger.projection, venue, order, this.o.clock.now());
    if (emits.length === 0) {
      if (order.intentId && !ledger.book.get(order.intentId)) this.o.log.warn({ venue, venueOrderId: order.venueOrderId, intentId: order.intentId }, 'update for an order with our tag but no record; reconciliation adopts it');
      // Another app's or a hand-placed order in a state not reported yet (a fill of it is a
      // position nobody here knows of): reconciliation reports it now.
      else if (!order.intentId && !findOrder(ledger.projection, order) && ledger.projection.unrecognised.get(order.venueOrderId) !== order.venueStatus && !afterRun) this.o.outsideChange?.(venue);
      return;
    }
    this.apply(venue, emits);
  }

  /** Only a shape new to the ledger counts: once taken, the next report of it asks for nothing. */
  private changedOutside(venue: Venue, order: VenueOrder): boolean {
    const rec = findOrder(this.o.ledger.projection, order);
    if (!rec || rec.venue !== venue) return false;
    const reshapes = (order.qty > 0 && order.qty !== rec.qty) || (order.limitPrice !== undefined && order.limitPrice !== rec.limitPrice);
    return reshapes && shapeDifferences(rec, order).some((d) => d.resolution === 'kill_raised');
  }

  /** Applies fills and state changes (live or from reconciliation), logs them, tells the strategy. */
  apply(venue: Venue, emits: Emit[]): void {
    const { ledger } = this.o;
    let fill: Fill | undefined;
    for (const { event, msgId } of emits) {
      const wasTerminal = event.kind === 'order_state' ? isTerminal(ledger.book.get(event.intentId)?.state ?? 'pending') : true;
      ledger.emit(event, msgId);
      if (event.kind === 'fill') fill = event.fill;
      if (event.kind !== 'order_state') continue;
      const rec = ledger.book.get(event.intentId);
      if (!rec) continue;
      if (!wasTerminal && isTerminal(rec.state)) metrics.ordersTotal.inc({ strategy: rec.strategyId, venue, outcome: rec.state });
      this.publish(rec, fill);
      fill = undefined;
    }
  }

  /** Holds `venue`'s live reports until the returned release, which applies them in order. */
  hold(venue: Venue): () => void {
    this.held.set(venue, []);
    return () => {
      const held = this.held.get(venue) ?? [];
      this.held.delete(venue);
      for (const o of held) this.onVenueOrder(venue, o, true);
    };
  }

  /** REST view of every order: the fallback when pushes go quiet, and after reconnects. */
  async refresh(a: VenueAdapter): Promise<void> {
    try {
      for (const o of await a.orders()) this.onVenueOrder(a.venue, o);
    } catch (err) {
      this.o.log.warn({ err, venue: a.venue }, 'order refresh failed');
    }
  }

  /** Tells the owning strategy where its order stands; an order the venue never saw has nothing to say yet. */
  publish(rec: OrderRecord, fill?: Fill): void {
    if (!rec.venueOrderId && rec.state !== 'rejected') return;
    this.o.publish({
      type: 'order', strategyId: rec.strategyId, intentId: rec.intentId, venue: rec.venue, venueOrderId: rec.venueOrderId ?? 'none',
      symbol: rec.symbol, side: rec.side, state: rec.state, venueStatus: clip(rec.venueStatus, MAX_NAME), qty: rec.qty, filledQty: rec.filledQty,
      ts: this.o.clock.now(),
      ...(rec.avgPrice !== undefined ? { avgPrice: rec.avgPrice } : {}),
      ...(fill ? { fill } : {}),
      ...(rec.message ? { message: clip(rec.message) } : {}),
    });
  }
}
