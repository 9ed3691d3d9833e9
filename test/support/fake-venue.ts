import type { Venue } from '../../actors/messages.ts';
import { VenueError } from '../../broker/venue-errors.ts';
import { VenueEventHub, type VenueAdapter, type VenueModifyRequest, type VenueOrder, type VenueOrderRequest } from '../../broker/venue.ts';

/** One write the fake venue was asked for, in order. */
export type FakeWrite =
  | { op: 'place'; req: VenueOrderRequest; priority: 'place' | 'kill' }
  | { op: 'cancel'; venueOrderId: string; priority: 'cancel' | 'kill' }
  | { op: 'modify'; req: VenueModifyRequest };

/**
 * A venue adapter with no network: it records every write, answers a place with the next
 * order id, and lets a test hold a write back (`gate`) or refuse it (`refuseNext`). A place is
 * recorded only once its write-ahead resolved, as a real adapter sends nothing before.
 */
export class FakeVenue extends VenueEventHub implements VenueAdapter {
  readonly writes: FakeWrite[] = [];
  isConnected = true;
  /** While set, every write waits for it. */
  gate: Promise<void> | undefined;
  private refusals: VenueError[] = [];
  private n = 0;

  constructor(readonly venue: Venue = 'kite', readonly canModify = true) {
    super();
    if (!canModify) (this as { modify?: unknown }).modify = undefined;
  }

  refuseNext(kind: VenueError['kind'], message = 'refused by the fake venue'): void {
    this.refusals.push(new VenueError({ venue: this.venue, kind, message }));
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async setInstruments(): Promise<void> {}
  connected(): boolean { return this.isConnected; }
  async openOrders(): Promise<VenueOrder[]> { return []; }
  async orders(): Promise<VenueOrder[]> { return []; }
  async positions() { return []; }

  async place(req: VenueOrderRequest, priority: 'place' | 'kill', sendAfter: Promise<void>): Promise<{ venueOrderId: string }> {
    await this.gate;
    await sendAfter;
    this.answer();
    this.writes.push({ op: 'place', req, priority });
    return { venueOrderId: `V${++this.n}` };
  }

  async cancel(venueOrderId: string, priority: 'cancel' | 'kill' = 'cancel'): Promise<void> {
    await this.gate;
    this.answer();
    this.writes.push({ op: 'cancel', venueOrderId, priority });
  }

  async modify(req: VenueModifyRequest): Promise<void> {
    await this.gate;
    this.answer();
    this.writes.push({ op: 'modify', req });
  }

  private answer(): void {
    const refusal = this.refusals.shift();
    if (refusal) throw refusal;
  }
}
