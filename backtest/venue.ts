import type { OrderState, Side, Tick } from '../actors/messages.ts';
import type { Venue } from '../actors/messages.ts';
import type { OrderRuleViolation, VenueOrderRequest } from '../broker/venue.ts';

/** What the backtest broker asks a simulated venue to do: what it would ask a live venue. */
export type SimOrderRequest = VenueOrderRequest;

/** An order's change at the venue, with the fill that caused it, if any. */
export type SimOrderEvent = {
  intentId: string;
  venueOrderId: string;
  state: OrderState;
  venueStatus: string;
  qty: number;
  filledQty: number;
  limitPrice?: number;
  fill?: { qty: number; price: number; isTaker: boolean };
  message?: string;
};

/** The venue refused the request before any order existed (as a 400 would). */
export class SimVenueRefusal extends Error {
  override readonly name = 'SimVenueRefusal';
  /** The venue's error class (Kite's taxonomy, which Kalshi maps onto): the denial's rule is `venue_<kind>`, as live. */
  constructor(readonly kind: string, message: string) {
    super(message);
  }
}

/**
 * A built-in exchange's matching engine driven by recorded prices instead of its seeded path.
 * Every call is synchronous: a place that crosses fills before it returns, and the events come
 * through `onEvent` in the order the engine made them.
 */
export interface SimVenue {
  readonly venue: Venue;
  /** A market price from the data: resting orders it crosses fill. */
  onTick(t: Tick): void;
  place(req: SimOrderRequest): string;
  cancel(venueOrderId: string): void;
  modify(venueOrderId: string, change: { qty: number; limitPrice?: number }): void;
  onEvent(fn: (e: SimOrderEvent) => void): void;
  /** The venue's own order rules, as the live adapter judges them before any write (broker/decide.ts). */
  checkOrder?(req: VenueOrderRequest): OrderRuleViolation | undefined;
  /** The most modifications the venue takes per order, as the live adapter declares it. */
  readonly maxModificationsPerOrder?: number;
}
