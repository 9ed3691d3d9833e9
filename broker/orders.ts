import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import type { CancelIntent, ModifyIntent, PlaceIntent, Venue } from '../actors/messages.ts';
import { metrics } from '../actors/metrics.ts';
import type { StrategySpec } from '../config/registry.ts';
import { modifiedOrder, type DenialRule } from './decide.ts';
import { deny, type Denial } from './denial.ts';
import type { Ledger } from './ledger.ts';
import type { RateLimiter } from './limiter/types.ts';
import { isTerminal, type OrderRecord } from './order-book.ts';
import type { OrderUpdates } from './order-updates.ts';
import { VenueError } from './venue-errors.ts';
import { WriteAheadFailed } from './errors.ts';
import type { VenueAdapter, VenueModifyRequest, VenueOrderRequest } from './venue.ts';

/** A write's outcome: the venue took it (with its order id), or why not. */
export type Written = { ok: true; venueOrderId: string } | Denial<DenialRule>;

/** What the venue is asked for (and what the write-ahead records): the intent less its routing fields. */
export function orderRequest(intent: PlaceIntent, marketProtection?: number): VenueOrderRequest {
  return {
    intentId: intent.intentId, symbol: intent.symbol, side: intent.side, qty: intent.qty, orderType: intent.orderType,
    ...(intent.limitPrice !== undefined ? { limitPrice: intent.limitPrice } : {}),
    // Kite refuses a MARKET order without market protection (docs/venues/kite.md "Market protection").
    ...(intent.orderType === 'MARKET' && marketProtection !== undefined ? { marketProtection } : {}),
  };
}

const asVenueError = (venue: Venue, e: unknown): VenueError =>
  e instanceof VenueError ? e : new VenueError({ venue, kind: 'GeneralException', message: (e as Error).message, cause: e });

const venueDenial = (err: VenueError): Denial<DenialRule> => deny(`venue_${err.kind}`, err.message, err.status !== undefined ? { status: err.status } : undefined);

export type OrdersOptions = {
  ledger: Ledger;
  updates: OrderUpdates;
  venues: ReadonlyMap<Venue, VenueAdapter>;
  clock: Clock;
  log: Logger;
  limiter?: RateLimiter;
  /** Called when a venue says the strategy has no margin: the strategy must halt. */
  onMarginException?: (strategyId: string, err: VenueError) => void;
};

/**
 * The writes to the venues, each one written ahead to the event log: places (a strategy's, or
 * the kill switch's own at kill priority), modifies and cancels, and the kill switch's cancel
 * of everything. Whether a strategy's write may go at all is decided before (broker/decide.ts).
 */
export class Orders {
  private readonly writing = new Set<Promise<unknown>>();
  /** Orders (by intent id) with a modify on its way, and their venue: a second one waits for none, it is refused. */
  private readonly modifying = new Map<string, Venue>();
  /** Places accepted per venue that have not had their answer yet (some still before the limiter). */
  private readonly placing = new Map<Venue, number>();

  constructor(private readonly o: OrdersOptions) {}

  modifyPending(targetIntentId: string): boolean {
    return this.modifying.has(targetIntentId);
  }

  /**
   * How long a place (or a modify) on this venue would queue for the rate limit, those of its
   * kind already on their way going first. A modify spends its own category (Kite's modify
   * family, Kalshi's write bucket) at modify priority.
   */
  rateWaitMs(venue: VenueAdapter, op: 'place' | 'modify'): number {
    const { limiter } = this.o;
    const category = op === 'place' ? venue.placeCategory : venue.modifyCategory;
    if (!limiter?.estimateWaitMs || !category) return 0;
    const cost = op === 'place' ? venue.placeCost : venue.modifyCost;
    const ahead = op === 'place' ? this.placing.get(venue.venue) ?? 0 : [...this.modifying.values()].filter((v) => v === venue.venue).length;
    return limiter.estimateWaitMs(category, op, { ahead, ...(cost ? { cost } : {}) });
  }

  /** A strategy's place, decided: written ahead, then sent. */
  place(intent: PlaceIntent, venue: VenueAdapter, marketProtection?: number): Promise<Written> {
    this.placing.set(venue.venue, (this.placing.get(venue.venue) ?? 0) + 1);
    return this.track(this.submit(intent, venue, 'place', marketProtection)).finally(() => this.placing.set(venue.venue, (this.placing.get(venue.venue) ?? 1) - 1));
  }

  /** The kill switch's own place (a flatten's closing order), at kill priority. */
  placeForKill(intent: PlaceIntent, venue: VenueAdapter, marketProtection?: number): Promise<Written> {
    return this.track(this.submit(intent, venue, 'kill', marketProtection));
  }

  private async submit(intent: PlaceIntent, venue: VenueAdapter, priority: 'place' | 'kill', marketProtection?: number): Promise<Written> {
    const { ledger, clock } = this.o;
    const at = { strategyId: intent.strategyId, intentId: intent.intentId, venue: intent.venue, op: 'place' as const };
    ledger.emit({ kind: 'decision', strategyId: at.strategyId, intentId: at.intentId, ts: clock.now(), decision: 'accepted' });
    const rec = ledger.book.get(intent.intentId)!;
    const req = orderRequest(intent, marketProtection);
    // Write-ahead: the log holds the write before the venue can, so a crash leaves a trace to
    // adopt. The adapter prepares the order meanwhile and sends it only once this resolves.
    const stored = ledger.emitDurable({ kind: 'venue_write', ts: clock.now(), ...at, request: req })
      .catch((e: unknown) => { throw new WriteAheadFailed(e); });
    stored.then(() => metrics.ordersSubmittedTotal.inc({ strategy: at.strategyId, venue: intent.venue }), () => undefined);
    try {
      // One microtask, so the write-ahead's bytes leave before the adapter's preparation runs.
      await Promise.resolve();
      const { venueOrderId } = await venue.place(req, priority, stored);
      ledger.emit({ kind: 'venue_answer', ts: clock.now(), ...at, venueOrderId });
      this.o.updates.publish(rec);
      return { ok: true, venueOrderId };
    } catch (e) {
      if (e instanceof WriteAheadFailed) {
        ledger.emit({ kind: 'venue_answer', ts: clock.now(), ...at, error: { name: 'VenueError', venue: intent.venue, kind: 'GeneralException', message: 'not sent: the event log did not store the write' } });
        this.o.updates.publish(rec);
        return deny('event_log_unavailable', `the event log did not store the write: ${e.message}`);
      }
      const err = asVenueError(intent.venue, e);
      ledger.emit({ kind: 'venue_answer', ts: clock.now(), ...at, error: err.toWire() });
      metrics.ordersTotal.inc({ strategy: at.strategyId, venue: intent.venue, outcome: 'rejected' });
      this.o.updates.publish(rec);
      if (err.kind === 'MarginException') this.o.onMarginException?.(at.strategyId, err);
      return venueDenial(err);
    }
  }

  /** A strategy's cancel of its own live order, decided. */
  async cancel(intent: CancelIntent, target: OrderRecord & { venueOrderId: string }): Promise<Written> {
    const { ledger, clock } = this.o;
    const venue = this.o.venues.get(target.venue)!;
    const at = { strategyId: intent.strategyId, intentId: intent.intentId, venue: target.venue, op: 'cancel' as const, venueOrderId: target.venueOrderId };
    ledger.emit({ kind: 'venue_write', ts: clock.now(), ...at });
    try {
      await venue.cancel(target.venueOrderId, 'cancel');
      ledger.emit({ kind: 'venue_answer', ts: clock.now(), ...at });
      ledger.emit({ kind: 'decision', strategyId: intent.strategyId, intentId: intent.intentId, ts: clock.now(), decision: 'accepted' });
      return { ok: true, venueOrderId: target.venueOrderId };
    } catch (e) {
      const err = e instanceof VenueError ? e : new VenueError({ venue: target.venue, kind: 'GeneralException', message: (e as Error).message });
      ledger.emit({ kind: 'venue_answer', ts: clock.now(), ...at, error: err.toWire() });
      return deny(`venue_${err.kind}`, err.message);
    }
  }

  /**
   * A strategy's modify of its resting order, decided: changes the same venue order in place.
   * One modify per order at a time (rule modify_pending).
   */
  async modify(intent: ModifyIntent, target: OrderRecord & { venueOrderId: string }, spec: StrategySpec): Promise<Written> {
    const venue = this.o.venues.get(target.venue)!;
    const { orderType, qty, limitPrice } = modifiedOrder(intent, target);
    const req: VenueModifyRequest = {
      venueOrderId: target.venueOrderId, symbol: target.symbol, side: target.side, orderType, qty,
      ...(orderType === 'LIMIT' && limitPrice !== undefined ? { limitPrice } : {}),
      // Kite refuses a MARKET order without market protection, on a modify too (docs/venues/kite.md).
      ...(orderType === 'MARKET' && spec.marketProtection !== undefined ? { marketProtection: spec.marketProtection } : {}),
    };
    this.modifying.set(target.intentId, target.venue);
    try {
      return await this.track(this.writeModify(intent, venue, req, target.intentId));
    } finally {
      this.modifying.delete(target.intentId);
    }
  }

  private async writeModify(intent: ModifyIntent, venue: VenueAdapter, req: VenueModifyRequest, targetIntentId: string): Promise<Written> {
    const { ledger, clock } = this.o;
    const change = { targetIntentId, qty: req.qty, ...(req.limitPrice !== undefined ? { limitPrice: req.limitPrice } : {}) };
    const at = { strategyId: intent.strategyId, intentId: intent.intentId, venue: venue.venue, op: 'modify' as const, venueOrderId: req.venueOrderId };
    try {
      // Write-ahead, as for a place: the log holds the change before the venue can.
      await ledger.emitDurable({ kind: 'venue_write', ts: clock.now(), ...at, change });
    } catch (e) {
      return deny('event_log_unavailable', `the event log did not store the write: ${(e as Error).message}`);
    }
    try {
      await venue.modify!(req);
    } catch (e) {
      const err = e instanceof VenueError ? e : new VenueError({ venue: venue.venue, kind: 'GeneralException', message: (e as Error).message });
      ledger.emit({ kind: 'venue_answer', ts: clock.now(), ...at, error: err.toWire() });
      return venueDenial(err);
    }
    ledger.emit({ kind: 'venue_answer', ts: clock.now(), ...at, change });
    ledger.emit({ kind: 'decision', strategyId: intent.strategyId, intentId: intent.intentId, ts: clock.now(), decision: 'accepted' });
    const rec = ledger.book.get(targetIntentId);
    if (rec) this.o.updates.publish(rec);
    return { ok: true, venueOrderId: req.venueOrderId };
  }

  /** Cancels every open order (kill levels 3-4, or one strategy at level 1). Kill priority in the limiter. */
  async cancelAll(strategyId?: string): Promise<number> {
    await Promise.allSettled([...this.writing]);
    let n = 0;
    for (const o of this.o.ledger.book.open(strategyId)) {
      if (!o.venueOrderId) continue;
      const venue = this.o.venues.get(o.venue);
      try {
        await venue?.cancel(o.venueOrderId, 'kill');
        n++;
      } catch (err) {
        this.o.log.error({ err, intentId: o.intentId }, 'kill cancel failed');
      }
    }
    return n;
  }

  /**
   * Cancels one order at kill priority (a flatten re-pricing what its closing order left).
   * False when the venue refused: most often the order ended meanwhile, which its update shows.
   */
  async cancelForKill(intentId: string): Promise<boolean> {
    const o = this.o.ledger.book.get(intentId);
    const venue = o && this.o.venues.get(o.venue);
    if (!o?.venueOrderId || !venue || isTerminal(o.state)) return false;
    try {
      await venue.cancel(o.venueOrderId, 'kill');
      return true;
    } catch (err) {
      this.o.log.warn({ err, intentId }, 'kill cancel refused');
      return false;
    }
  }

  /** A kill-switch cancel waits for every accepted place still on its way to the venue, so none slips past it. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.writing.add(p);
    return p.finally(() => this.writing.delete(p));
  }
}
