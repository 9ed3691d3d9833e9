import type { OrderState } from '../../actors/messages.ts';

/**
 * Kite's order status machine. Reports about one order arrive from the postback webhook, the
 * ticker's order frames and REST polling, in any order and often twice; `transition` says
 * whether a report moves the order forward, repeats what we know, is older than what we know,
 * or describes a move Kite cannot make (which we refuse rather than let corrupt the book).
 */

/** Where a status sits on the way from request to outcome; lateral moves happen only in `live`. */
const PHASE = {
  'PUT ORDER REQ RECEIVED': 0,
  'AMO REQ RECEIVED': 0,
  'VALIDATION PENDING': 1,
  'OPEN PENDING': 2,
  OPEN: 3,
  'TRIGGER PENDING': 3,
  'MODIFY VALIDATION PENDING': 3,
  'MODIFY PENDING': 3,
  MODIFIED: 3,
  'CANCEL PENDING': 4,
  COMPLETE: 5,
  CANCELLED: 5,
  REJECTED: 5,
} as const satisfies Record<string, number>;

export type KiteStatus = keyof typeof PHASE;
export const KITE_STATUSES = Object.keys(PHASE) as KiteStatus[];
const LIVE = 3;
const TERMINAL = 5;

/** Pushes announce partial fills and modifications with this pseudo-status (Kite's postback docs). */
export const UPDATE = 'UPDATE';

export type KiteOrderSnapshot = {
  status: KiteStatus;
  /**
   * The status as Kite wrote it, when it is outside the table above (e.g. `NOT MODIFIED`, a
   * refused modification). Such a report keeps the order's known phase and is never dropped.
   */
  rawStatus?: string;
  qty: number;
  filledQty: number;
  /** Exchange update time (ms) when the report carries one; second resolution at Kite. */
  updatedAt?: number;
};
export type KiteReport = Omit<KiteOrderSnapshot, 'status'> & { status: string };

export type Verdict =
  | { kind: 'apply'; next: KiteOrderSnapshot }
  | { kind: 'duplicate' }
  | { kind: 'stale'; reason: string }
  | { kind: 'impossible'; reason: string };

export const isKiteStatus = (s: string): s is KiteStatus => Object.hasOwn(PHASE, s);
export const isKiteTerminal = (s: KiteStatus) => PHASE[s] === TERMINAL;

/** The one decision: what `incoming` does to an order last known as `prev` (undefined = first sight). */
export function transition(prev: KiteOrderSnapshot | undefined, incoming: KiteReport): Verdict {
  const { qty, filledQty } = incoming;
  if (!Number.isInteger(qty) || !Number.isInteger(filledQty) || filledQty < 0 || qty < 0) return { kind: 'impossible', reason: `bad quantities ${filledQty}/${qty}` };
  if (filledQty > qty) return { kind: 'impossible', reason: `filled ${filledQty} exceeds quantity ${qty}` };

  let status: KiteStatus;
  if (incoming.status === UPDATE) {
    if (prev && PHASE[prev.status] === TERMINAL) return { kind: 'stale', reason: `UPDATE after ${prev.status}` };
    // A fill or modification of a live order; a trigger-pending order that fills has triggered.
    status = prev && PHASE[prev.status] >= LIVE && !(prev.status === 'TRIGGER PENDING' && filledQty > 0) ? prev.status : 'OPEN';
  } else if (isKiteStatus(incoming.status)) {
    status = incoming.status;
  } else {
    // Real order histories hold statuses outside the documented table (docs/venues/kite.md,
    // "Order updates"). It says nothing about the phase: the order stays where it was (a first
    // sight is an order that exists: live), its fills are taken, and the raw status is kept.
    if (prev && PHASE[prev.status] === TERMINAL && filledQty === prev.filledQty) return { kind: 'stale', reason: `${incoming.status} after ${prev.status}` };
    if (prev && filledQty < prev.filledQty) return { kind: 'stale', reason: `filled ${filledQty} < known ${prev.filledQty}` };
    if (prev && PHASE[prev.status] === TERMINAL) return { kind: 'impossible', reason: `${prev.status} is final; got ${incoming.status} ${filledQty}/${qty}` };
    const kept = prev?.status ?? 'OPEN';
    if (prev && prev.rawStatus === incoming.status && prev.filledQty === filledQty && prev.qty === qty) return { kind: 'duplicate' };
    return { kind: 'apply', next: { status: kept, rawStatus: incoming.status, qty, filledQty, ...(incoming.updatedAt !== undefined ? { updatedAt: incoming.updatedAt } : {}) } };
  }
  if (status === 'COMPLETE' && filledQty !== qty) return { kind: 'impossible', reason: `COMPLETE with ${filledQty} of ${qty} filled` };
  if (status === 'REJECTED' && filledQty > 0) return { kind: 'impossible', reason: `REJECTED after ${filledQty} filled` };

  const next: KiteOrderSnapshot = { status, qty, filledQty, ...(incoming.updatedAt !== undefined ? { updatedAt: incoming.updatedAt } : {}) };
  if (!prev) return { kind: 'apply', next };

  if (filledQty < prev.filledQty) return { kind: 'stale', reason: `filled ${filledQty} < known ${prev.filledQty}` };
  const same = status === prev.status && filledQty === prev.filledQty && qty === prev.qty;
  const from = PHASE[prev.status];
  const to = PHASE[status];

  if (from === TERMINAL) {
    if (same) return { kind: 'duplicate' };
    // A report from before the end, arriving late: nothing in it is news.
    if (to < TERMINAL && filledQty === prev.filledQty) return { kind: 'stale', reason: `${status} after ${prev.status}` };
    return { kind: 'impossible', reason: `${prev.status} is final; got ${status} ${filledQty}/${qty}` };
  }
  if (to < from) {
    // An older status, but fills only grow: keep the newer status, take the fill.
    if (filledQty > prev.filledQty) return { kind: 'apply', next: { ...next, status: prev.status } };
    return { kind: 'stale', reason: `${status} after ${prev.status}` };
  }
  if (to === from) {
    if (same) return { kind: 'duplicate' };
    const older = incoming.updatedAt !== undefined && prev.updatedAt !== undefined && incoming.updatedAt < prev.updatedAt;
    if (older && filledQty === prev.filledQty) return { kind: 'stale', reason: `${status} older than ${prev.status}` };
  }
  return { kind: 'apply', next };
}

/** Kite's status (plus fill progress) in the words the rest of the system speaks. */
export function normalizedState(s: Pick<KiteOrderSnapshot, 'status' | 'filledQty' | 'qty'>): OrderState {
  switch (s.status) {
    case 'COMPLETE':
      return 'filled';
    case 'CANCELLED':
      return 'cancelled';
    case 'REJECTED':
      return 'rejected';
    default:
      if (PHASE[s.status] < LIVE) return 'pending';
      return s.filledQty > 0 && s.filledQty < s.qty ? 'partially_filled' : 'open';
  }
}

/** Kite's "YYYY-MM-DD HH:MM:SS" (IST) → epoch ms; undefined when absent or unreadable. */
export function kiteTime(s: string | null | undefined): number | undefined {
  if (!s) return undefined;
  const ms = Date.parse(`${s.trim().replace(' ', 'T')}+05:30`);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The last accepted snapshot per order id. Bounded: finished orders are forgotten first once
 * the table is full (a forgotten order is simply seen afresh; the order book still merges forward-only).
 */
export class KiteOrderStates {
  private readonly known = new Map<string, KiteOrderSnapshot>();
  constructor(private readonly max = 20_000) {}

  get(orderId: string): KiteOrderSnapshot | undefined {
    return this.known.get(orderId);
  }

  observe(orderId: string, report: KiteReport): { verdict: Verdict; current: KiteOrderSnapshot | undefined } {
    const verdict = transition(this.known.get(orderId), report);
    if (verdict.kind === 'apply') {
      this.known.delete(orderId); // re-insert: Map order doubles as recency
      this.known.set(orderId, verdict.next);
      if (this.known.size > this.max) this.evict();
    }
    return { verdict, current: this.known.get(orderId) };
  }

  private evict(): void {
    for (const [id, s] of this.known) {
      if (this.known.size <= this.max) return;
      if (isKiteTerminal(s.status)) this.known.delete(id);
    }
    for (const id of this.known.keys()) {
      if (this.known.size <= this.max) return;
      this.known.delete(id);
    }
  }
}
