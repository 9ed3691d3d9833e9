import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { readEvents, type EventLog } from './event-log.ts';
import type { LogEvent } from './events/schema.ts';
import type { OrderBook } from './order-book.ts';
import { applyEvent, emptyProjection, positions, type Projection } from './projection/projection.ts';
import type { StrategyStateReply } from '../actors/messages.ts';
import type { VenueAdapter } from './venue.ts';

/**
 * The broker's memory: the event log and its projection (orders, positions, P&L,
 * broker/projection/), changed together. Every event is applied to the projection as it is
 * appended, so what the rules read is what a restarted broker replays.
 */
export class Ledger {
  /** Orders, positions and P&L: a fold of the event log, replayed at start. */
  readonly projection: Projection = emptyProjection();
  private events: EventLog | undefined;

  constructor(private readonly clock: Clock, private readonly log: Logger) {}

  get book(): OrderBook {
    return this.projection.book;
  }

  /** What a starting strategy is told it holds: the same projection every rule reads. */
  strategyState(strategyId: string): StrategyStateReply {
    return {
      positions: positions(this.projection, strategyId).filter((p) => p.qty !== 0).map((p) => ({ symbol: p.symbol, qty: p.qty })),
      openOrders: this.book.open(strategyId).map((o) => ({
        intentId: o.intentId, symbol: o.symbol, side: o.side, qty: o.qty, filledQty: o.filledQty, state: o.state as 'pending' | 'open' | 'partially_filled',
        ...(o.limitPrice !== undefined ? { limitPrice: o.limitPrice } : {}),
      })),
    };
  }

  /** The log from here on; without one (tests of a part) events live in the projection only. */
  attach(events: EventLog | undefined): void {
    this.events = events;
  }

  /** Applies an event to the projection and appends it to the log (queued, in order). */
  emit(ev: LogEvent, msgId?: string): void {
    applyEvent(this.projection, ev);
    this.events?.record(ev, msgId);
  }

  /** Write-ahead: resolves once the log has stored the event (and everything queued before it). */
  async emitDurable(ev: LogEvent, timeoutMs = 10_000): Promise<void> {
    applyEvent(this.projection, ev);
    if (!this.events) return;
    // Past the timeout the write is not sent at all: a late order after a NATS outage would surprise its strategy.
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const late = new Promise<never>((_, reject) => { timer = this.clock.setTimeout(() => reject(new Error(`not stored within ${timeoutMs} ms`)), timeoutMs); });
    try {
      await Promise.race([this.events.append(ev, undefined, { sendNow: true }), late]);
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  /** Reads the whole log into the projection and tells each adapter the intent ids it may meet. */
  async replay(nc: NatsConnection, adapters: Iterable<VenueAdapter>): Promise<void> {
    if (!this.events) return;
    let n = 0;
    for await (const e of readEvents(nc, { onInvalid: (seq, error) => this.log.error({ seq, error }, 'unreadable event skipped in replay') })) {
      applyEvent(this.projection, e.event, e.seq);
      n++;
    }
    const ids = new Set([...this.book.all().map((r) => r.intentId), ...this.projection.intents.keys()]);
    for (const a of adapters) for (const id of ids) a.rememberIntent?.(id);
    this.log.info({ events: n, orders: this.book.all().length, lastSeq: this.projection.lastSeq }, 'event log replayed');
  }

  /**
   * Waits up to `ms` for queued events to be stored. With nats-server gone they never will be;
   * what they said (fills, states) is recovered from the venue by the reconciliation at the next
   * start, so a stop must not hang on them.
   */
  async flush(ms: number): Promise<void> {
    const events = this.events;
    if (!events) return;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const gaveUp = new Promise<boolean>((r) => { timer = this.clock.setTimeout(() => r(true), ms); });
    const lost = await Promise.race([events.flush().then(() => false), gaveUp]);
    this.clock.clearTimeout(timer);
    if (!lost) return;
    this.log.error({ queued: events.pending() }, 'stopping with events not stored (nats-server unreachable); the next start reconciles them from the venue');
    events.close();
  }
}
