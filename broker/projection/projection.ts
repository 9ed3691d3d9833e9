import type { PlaceIntent, Venue } from '../../actors/messages.ts';
import { OrderBook, isTerminal, mergeVenueOrder, type OrderRecord } from '../order-book.ts';
import type { LogEvent } from '../events/schema.ts';
import { applyFillToPosition, avgEntry, emptyPosition, positionKey, unrealizedOf, type PositionState } from './positions.ts';

/**
 * Positions, open orders and P&L as a fold over the event log. The broker builds its state
 * with exactly this code: at start by replaying ORCH_EVENTS, live by applying each event it
 * records. `applyEvent` does no I/O and depends only on its inputs; for replay speed it
 * updates the projection in place and returns it.
 */
export type Decision =
  | { status: 'accepted'; venueOrderId?: string }
  | { status: 'denied'; rule: string; reason: string; figures?: Record<string, number | string> };

export type Projection = {
  /** Every order the log knows, by intent id and by venue order id. */
  book: OrderBook;
  /** Place intents seen, until their order exists. */
  intents: Map<string, PlaceIntent>;
  /**
   * The answer to each intent id: a resent intent gets it again, never a second order. The
   * first decision stands, except that an accepted place the venue refused (or that was never
   * sent) becomes that denial.
   */
  decisions: Map<string, Decision>;
  positions: Map<string, PositionState>;
  /**
   * Net positions at a venue that no strategy holds (`<venue>|<symbol>`): manual trades and
   * earlier days' positions, recorded by reconciliation as a baseline. Never traded or flattened.
   */
  external: Map<string, number>;
  /** Orders at a venue we do not recognise, as last reported (venue order id → venue status): reported once per status. */
  unrecognised: Map<string, string>;
  /** Fill ids already counted (the log may hold a fill twice after a crash). */
  fills: Set<string>;
  /** Stream sequence of the last event applied (0 = none). */
  lastSeq: number;
  /** Latest event time applied (epoch ms, 0 = none): reconciliation reads the venue's history from about here. */
  lastTs: number;
};

export function emptyProjection(): Projection {
  return { book: new OrderBook(), intents: new Map(), decisions: new Map(), positions: new Map(), external: new Map(), unrecognised: new Map(), fills: new Set(), lastSeq: 0, lastTs: 0 };
}

export function applyEvent(p: Projection, ev: LogEvent, seq?: number): Projection {
  if (seq !== undefined) p.lastSeq = Math.max(p.lastSeq, seq);
  if (ev.ts > p.lastTs) p.lastTs = ev.ts;
  switch (ev.kind) {
    case 'intent':
      if (ev.intent.action === 'place' && !p.book.get(ev.intentId)) p.intents.set(ev.intentId, ev.intent);
      return p;
    case 'decision': {
      const before = p.decisions.get(ev.intentId);
      if (before?.status === 'accepted' && ev.decision === 'denied' && !before.venueOrderId) {
        p.decisions.set(ev.intentId, { status: 'denied', rule: ev.rule ?? 'unknown', reason: ev.reason ?? '', ...(ev.figures ? { figures: ev.figures } : {}) });
        return p;
      }
      if (before) return p;
      if (ev.decision === 'denied') {
        p.decisions.set(ev.intentId, { status: 'denied', rule: ev.rule ?? 'unknown', reason: ev.reason ?? '', ...(ev.figures ? { figures: ev.figures } : {}) });
        p.intents.delete(ev.intentId);
        return p;
      }
      p.decisions.set(ev.intentId, { status: 'accepted' });
      const intent = p.intents.get(ev.intentId);
      if (intent && !p.book.get(ev.intentId)) p.book.register(intent, ev.ts);
      p.intents.delete(ev.intentId);
      return p;
    }
    case 'venue_write': {
      // Counted when written (ahead of the venue): a request whose answer was lost may still count there.
      if (ev.op === 'modify' && ev.change) p.book.asking(ev.change.targetIntentId, ev.change);
      return p;
    }
    case 'venue_answer': {
      if (ev.op === 'modify') {
        if (ev.change && !ev.error) p.book.change(ev.change.targetIntentId, ev.change, ev.ts);
        return p;
      }
      if (ev.op !== 'place') return p;
      if (ev.venueOrderId) {
        p.book.bind(ev.intentId, ev.venueOrderId);
        const d = p.decisions.get(ev.intentId);
        if (d?.status === 'accepted') d.venueOrderId = ev.venueOrderId;
      } else if (ev.error) {
        p.book.reject(ev.intentId, ev.error.message, ev.ts);
      }
      return p;
    }
    case 'order_state': {
      const rec = p.book.get(ev.intentId);
      if (!rec) return p;
      if (ev.venueOrderId && !rec.venueOrderId) p.book.bind(rec.intentId, ev.venueOrderId);
      if (!rec.venueOrderId) {
        if (ev.state !== 'rejected') return p;
        p.book.reject(rec.intentId, ev.message ?? 'rejected', ev.ts);
        // Accepted, but the venue never had it (reconciliation after the accepting broker died):
        // a resend of the intent is told so, not "accepted" (broker/intents.ts).
        const d = p.decisions.get(rec.intentId);
        if (d?.status === 'accepted' && !d.venueOrderId) p.decisions.set(rec.intentId, { status: 'denied', rule: 'not_landed', reason: ev.message ?? 'the write never reached the venue' });
        return p;
      }
      mergeVenueOrder(rec, {
        venueOrderId: rec.venueOrderId, symbol: rec.symbol, side: rec.side, qty: ev.qty ?? rec.qty, filledQty: ev.filledQty, state: ev.state,
        venueStatus: ev.venueStatus, ts: ev.ts,
        ...(ev.limitPrice !== undefined ? { limitPrice: ev.limitPrice } : {}),
        ...(ev.avgPrice !== undefined ? { avgPrice: ev.avgPrice } : {}),
        ...(ev.message !== undefined ? { message: ev.message } : {}),
      });
      return p;
    }
    case 'fill': {
      if (p.fills.has(ev.fill.fillId)) return p;
      p.fills.add(ev.fill.fillId);
      const key = positionKey(ev.strategyId, ev.symbol);
      const cur = p.positions.get(key) ?? emptyPosition(ev.strategyId, ev.venue, ev.symbol);
      p.positions.set(key, applyFillToPosition(cur, ev.side, ev.fill.qty, ev.fill.price));
      return p;
    }
    case 'adopt': {
      const rec = p.book.get(ev.intentId);
      if (!rec) {
        p.book.adopt({ venueOrderId: ev.venueOrderId, intentId: ev.intentId, symbol: ev.symbol, side: ev.side, qty: ev.qty, filledQty: 0, state: 'pending', venueStatus: 'ADOPTED', ts: ev.ts, ...(ev.limitPrice !== undefined ? { limitPrice: ev.limitPrice } : {}) }, ev.strategyId, ev.venue);
        p.intents.delete(ev.intentId);
      } else if (!rec.venueOrderId) {
        p.book.bind(rec.intentId, ev.venueOrderId);
      }
      const d = p.decisions.get(ev.intentId);
      if (!d) p.decisions.set(ev.intentId, { status: 'accepted', venueOrderId: ev.venueOrderId });
      else if (d.status === 'accepted') d.venueOrderId ??= ev.venueOrderId;
      return p;
    }
    case 'reconcile':
      for (const d of ev.report.differences) {
        if (d.kind === 'unrecognised_order' && d.venueOrderId) p.unrecognised.set(d.venueOrderId, String(d.atVenue ?? ''));
        if (d.kind !== 'external_position' || d.resolution !== 'baseline' || !d.symbol) continue;
        const qty = Number(d.atVenue ?? 0) - Number(d.local ?? 0);
        const key = externalKey(d.venue, d.symbol);
        if (qty === 0) p.external.delete(key);
        else p.external.set(key, qty);
      }
      return p;
    case 'kill':
    case 'broker':
    case 'lease':
    // What it stood for is lost to the projection; reconciliation with the venue fills the gap.
    case 'oversize':
      return p;
    default: {
      const never: never = ev;
      return never;
    }
  }
}

/** Folds a sequence of events into a fresh projection (or onto `from`). */
export function project(events: Iterable<LogEvent | { seq: number; event: LogEvent }>, from = emptyProjection()): Projection {
  for (const e of events) {
    if ('kind' in e) applyEvent(from, e);
    else applyEvent(from, e.event, e.seq);
  }
  return from;
}

export type PositionView = { strategyId: string; venue: Venue; symbol: string; qty: number; avgPrice?: number; realized: number };

export function positions(p: Projection, strategyId?: string): PositionView[] {
  const out: PositionView[] = [];
  for (const s of p.positions.values()) {
    if (strategyId !== undefined && s.strategyId !== strategyId) continue;
    const avg = avgEntry(s);
    out.push({ strategyId: s.strategyId, venue: s.venue, symbol: s.symbol, qty: s.qty, realized: s.realized, ...(avg !== undefined ? { avgPrice: avg } : {}) });
  }
  return out.sort((a, b) => (a.strategyId + a.symbol).localeCompare(b.strategyId + b.symbol));
}

export function positionOf(p: Projection, strategyId: string, symbol: string): number {
  return p.positions.get(positionKey(strategyId, symbol))?.qty ?? 0;
}

/** Net quantity per symbol on one venue, summed over strategies: what the venue should show. */
export const externalKey = (venue: Venue, symbol: string) => `${venue}|${symbol}`;

/** Every position held outside the strategies, by venue and symbol, in a stable order. */
export function externalPositions(p: Projection): { venue: Venue; symbol: string; qty: number }[] {
  return [...p.external].sort(([a], [b]) => a.localeCompare(b)).map(([key, qty]) => {
    const at = key.indexOf('|');
    return { venue: key.slice(0, at) as Venue, symbol: key.slice(at + 1), qty };
  });
}

/** The baseline of positions outside the strategies at one venue, by symbol. */
export function externalByVenue(p: Projection, venue: Venue): Map<string, number> {
  return new Map(externalPositions(p).filter((x) => x.venue === venue).map((x) => [x.symbol, x.qty]));
}

/** Net position per symbol that the strategies hold at one venue (the baseline not included). */
export function netByVenue(p: Projection, venue: Venue): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of p.positions.values()) if (s.venue === venue) out.set(s.symbol, (out.get(s.symbol) ?? 0) + s.qty);
  return out;
}

export function openOrders(p: Projection, strategyId?: string): OrderRecord[] {
  return p.book.open(strategyId);
}

export type StrategyPnl = {
  realized: number;
  unrealized: number;
  total: number;
  /** Symbols with an open position but no last price: their unrealized P&L counts as 0. */
  unpriced: string[];
};

/**
 * Realized (closed lots) and unrealized (open lots marked at `lastPrice`) P&L of one
 * strategy, exact integers in price unit × quantity unit (paise for Kite).
 */
export function strategyPnl(p: Projection, strategyId: string, lastPrice: (symbol: string, venue: Venue) => number | undefined): StrategyPnl {
  let realized = 0;
  let unrealized = 0;
  const unpriced: string[] = [];
  for (const s of p.positions.values()) {
    if (s.strategyId !== strategyId) continue;
    realized += s.realized;
    if (s.lots.length === 0) continue;
    const last = lastPrice(s.symbol, s.venue);
    if (last === undefined) unpriced.push(s.symbol);
    else unrealized += unrealizedOf(s, last);
  }
  return { realized, unrealized, total: realized + unrealized, unpriced };
}

export { isTerminal };
