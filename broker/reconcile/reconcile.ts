import { isTerminal, type OrderRecord } from '../order-book.ts';
import type { VenueOrder, VenuePosition } from '../venue.ts';
import type { Difference, ReconcileResult } from '../events/schema.ts';
import { externalByVenue, netByVenue, type Projection } from '../projection/projection.ts';
import { findOrder, orderStateEvent, recordUpdateEvents, type Emit } from '../projection/order-events.ts';
import type { Venue } from '../../actors/messages.ts';

/** What the venue says, read over REST: every order of the day, and net positions. */
export type VenueSnapshot = { venue: Venue; orders: readonly VenueOrder[]; positions: readonly VenuePosition[] };

export type ReconcileOptions = {
  now: number;
  /** Intents whose write is on its way right now: absent at the venue is not yet a verdict. */
  inflight?: ReadonlySet<string>;
  /** Strategy of an intent id the venue recognises but the log has no order for. */
  strategyOf?: (intentId: string) => string | undefined;
  /**
   * Record what still differs in net position as positions outside the strategies (a new
   * baseline) instead of raising the kill switch: at start, and when an operator accepts them.
   */
  baselineExternal?: boolean;
};

export type ReconcileOutcome = {
  result: Exclude<ReconcileResult, 'error'>;
  differences: Difference[];
  /** Events that bring the log up to the venue, in order; apply and record them. */
  actions: Emit[];
  /** An unexplained position difference, or an order changed outside orch: raise the kill switch to level 2. */
  raiseKill: boolean;
};

/** Strategy id given to an adopted order whose intent the log never saw. */
export const UNATTRIBUTED = '_unattributed';

/**
 * Compares the log's projection with the venue and says what to do. Policy:
 * - an order carrying our tag/client id that the log lacks (or lacks the venue id of) is adopted;
 * - a fill the log missed is applied, and so is any state the venue is ahead on;
 * - a local order that never reached the venue is closed as rejected;
 * - an order we do not recognise is reported (once per state it is seen in) and left alone;
 * - an open order resting at another quantity or price takes the venue's shape; one no intent
 *   of ours asked for is also a mismatch (`shapeDifferences`);
 * - a net position that still differs after all of that (and after the baseline of positions
 *   outside the strategies) raises kill level 2, field by field; with `baselineExternal` it
 *   becomes the new baseline instead.
 * Pure: reads `local`, never changes it.
 */
export function reconcile(local: Projection, snap: VenueSnapshot, o: ReconcileOptions): ReconcileOutcome {
  const { venue } = snap;
  const differences: Difference[] = [];
  const actions: Emit[] = [];
  const matched = new Set<string>();
  let raiseKill = false;
  const fillDelta = new Map<string, number>();

  for (const vo of snap.orders) {
    let rec = findOrder(local, vo);
    if (rec && rec.venue !== venue) rec = undefined;
    if (!rec && !vo.intentId) {
      // Reported already in this state: a manual order would otherwise fill every periodic report.
      if (local.unrecognised.get(vo.venueOrderId) === vo.venueStatus) continue;
      differences.push({ kind: 'unrecognised_order', resolution: 'reported', venue, symbol: vo.symbol, venueOrderId: vo.venueOrderId, field: 'state', atVenue: vo.venueStatus, note: `${vo.side} ${vo.qty} filled ${vo.filledQty}` });
      continue;
    }
    if (!rec) {
      // Our tag, no order in the log: adopt it under the strategy that sent the intent.
      const intentId = vo.intentId!;
      const strategyId = o.strategyOf?.(intentId) ?? UNATTRIBUTED;
      actions.push({
        event: { kind: 'adopt', strategyId, intentId, ts: o.now, venue, venueOrderId: vo.venueOrderId, symbol: vo.symbol, side: vo.side, qty: vo.qty, ...(vo.limitPrice !== undefined ? { limitPrice: vo.limitPrice } : {}) },
      });
      rec = {
        intentId, strategyId, venue, symbol: vo.symbol, side: vo.side, qty: vo.qty, state: 'pending', venueStatus: 'ADOPTED', filledQty: 0,
        createdTs: o.now, updatedTs: o.now, venueOrderId: vo.venueOrderId,
      };
      differences.push({ kind: 'adopted', resolution: 'applied', venue, symbol: vo.symbol, strategyId, intentId, venueOrderId: vo.venueOrderId, note: 'order at the venue carries our id; the log had no order for it' });
    } else if (!rec.venueOrderId) {
      differences.push({ kind: 'adopted', resolution: 'applied', venue, symbol: rec.symbol, strategyId: rec.strategyId, intentId: rec.intentId, venueOrderId: vo.venueOrderId, field: 'venueOrderId', atVenue: vo.venueOrderId, note: 'write landed but its answer never arrived' });
    }
    matched.add(rec.intentId);
    const changed = shapeDifferences(rec, vo);
    if (changed.length > 0) {
      differences.push(...changed);
      if (changed.some((d) => d.resolution === 'kill_raised')) raiseKill = true;
    }
    const emits = recordUpdateEvents(rec, venue, vo, o.now);
    for (const e of emits) {
      if (e.event.kind === 'fill') {
        const ev = e.event;
        const counted = local.fills.has(ev.fill.fillId);
        if (!counted) fillDelta.set(ev.symbol, (fillDelta.get(ev.symbol) ?? 0) + (ev.side === 'BUY' ? ev.fill.qty : -ev.fill.qty));
        differences.push({ kind: 'missed_fill', resolution: 'applied', venue, symbol: ev.symbol, strategyId: ev.strategyId, intentId: ev.intentId, venueOrderId: vo.venueOrderId, field: 'filledQty', local: rec.filledQty, atVenue: vo.filledQty });
      } else if (e.event.kind === 'order_state' && rec.venueOrderId && e.event.state !== rec.state) {
        differences.push({ kind: 'state_behind', resolution: 'applied', venue, symbol: rec.symbol, strategyId: rec.strategyId, intentId: rec.intentId, venueOrderId: vo.venueOrderId, field: 'state', local: rec.state, atVenue: e.event.state });
      }
    }
    actions.push(...emits);
  }

  for (const rec of local.book.open()) {
    if (rec.venue !== venue || matched.has(rec.intentId) || o.inflight?.has(rec.intentId)) continue;
    if (!rec.venueOrderId) {
      const closed: OrderRecord = { ...rec, state: 'rejected', venueStatus: 'NOT LANDED', message: 'the write never reached the venue (found by reconciliation)' };
      actions.push({ event: orderStateEvent(closed, venue, o.now) });
      differences.push({ kind: 'not_landed', resolution: 'applied', venue, symbol: rec.symbol, strategyId: rec.strategyId, intentId: rec.intentId, field: 'state', local: rec.state, atVenue: 'absent' });
    } else {
      differences.push({ kind: 'missing_at_venue', resolution: 'reported', venue, symbol: rec.symbol, strategyId: rec.strategyId, intentId: rec.intentId, venueOrderId: rec.venueOrderId, field: 'state', local: rec.state, atVenue: 'absent' });
    }
  }

  const ours = netByVenue(local, venue);
  for (const [symbol, d] of fillDelta) ours.set(symbol, (ours.get(symbol) ?? 0) + d);
  const external = externalByVenue(local, venue);
  const atVenue = new Map<string, number>();
  for (const p of snap.positions) atVenue.set(p.symbol, (atVenue.get(p.symbol) ?? 0) + p.qty);
  for (const symbol of [...new Set([...ours.keys(), ...external.keys(), ...atVenue.keys()])].sort()) {
    const strategies = ours.get(symbol) ?? 0;
    const outside = external.get(symbol) ?? 0;
    const theirs = atVenue.get(symbol) ?? 0;
    if (strategies + outside === theirs) continue;
    if (o.baselineExternal) {
      differences.push({
        kind: 'external_position', resolution: 'baseline', venue, symbol, field: 'qty', local: strategies, atVenue: theirs,
        note: `${theirs - strategies} held outside the strategies (was ${outside}): recorded as the baseline, never traded`,
      });
      continue;
    }
    raiseKill = true;
    differences.push({
      kind: 'position', resolution: 'kill_raised', venue, symbol, field: 'qty', local: strategies + outside, atVenue: theirs,
      note: `${outside === 0 ? 'net position differs after every order and fill was applied' : `net position differs after every order and fill was applied (${outside} of it held outside the strategies)`}; if it is held outside the strategies, accept it with orch reconcile --accept-external`,
    });
  }

  const result = raiseKill ? 'mismatch' : differences.length > 0 ? 'resolved' : 'ok';
  return { result, differences, actions, raiseKill };
}

/**
 * An order open both here and at the venue, resting there at another quantity or limit price.
 * The venue's shape is always taken (the order_state event `recordUpdateEvents` makes carries
 * it): it is what can fill, and the limits (maxPosition's worst case) and a kill switch's
 * cancels must judge the order as it rests, not as we last heard of it. What differs is the
 * verdict:
 * - a shape orch asked for (a modify written ahead whose answer was lost, or is still on its
 *   way) is `applied`: the log catches up with our own change;
 * - any other shape (the order changed outside orch: by hand at the venue, another app) is
 *   `kill_raised`, reported on every check for as long as the order rests so, so the
 *   persistent-difference rule (killTriggers.reconcileConfirmChecks) latches level 2 when a
 *   second check still sees it, and a stale report seen once does not.
 * A MARKET order's price is the venue's own (Kite shows a protected one at its band edge): only
 * its quantity is compared.
 */
export function shapeDifferences(rec: OrderRecord, vo: VenueOrder): Difference[] {
  if (isTerminal(rec.state) || isTerminal(vo.state) || !rec.venueOrderId) return [];
  const priced = rec.orderType !== 'MARKET' && vo.limitPrice !== undefined;
  const asked = rec.asked ?? [];
  const ours = asked.length === 0 || asked.some((s) => (vo.qty <= 0 || s.qty === vo.qty) && (!priced || s.limitPrice === undefined || s.limitPrice === vo.limitPrice));
  // Ours: against the log's record (nothing to say once it holds the venue's shape). Not ours:
  // against the last shape we asked for, so it is said again on every check it persists.
  const against = ours ? { qty: rec.qty, limitPrice: rec.limitPrice } : asked[asked.length - 1]!;
  const at = { venue: rec.venue, symbol: rec.symbol, strategyId: rec.strategyId, intentId: rec.intentId, venueOrderId: vo.venueOrderId };
  const note = ours
    ? 'a modify of ours landed at the venue; its answer had not reached the log'
    : 'the venue holds our order at a shape no intent asked for (changed outside orch?); the venue\'s shape is taken; kill level 2 if a second check still finds it';
  const out: Difference[] = [];
  if (vo.qty > 0 && vo.qty !== against.qty) out.push({ kind: 'order_changed', resolution: ours ? 'applied' : 'kill_raised', ...at, field: 'qty', local: against.qty, atVenue: vo.qty, note });
  if (priced && against.limitPrice !== undefined && vo.limitPrice !== against.limitPrice) {
    out.push({ kind: 'order_changed', resolution: ours ? 'applied' : 'kill_raised', ...at, field: 'limitPrice', local: against.limitPrice, atVenue: vo.limitPrice!, note });
  }
  return out;
}

