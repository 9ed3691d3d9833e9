import type { Intent, ModifyIntent, PlaceIntent, Venue } from '../actors/messages.ts';
import type { StrategySpec } from '../config/registry.ts';
import { deny, type Denial, type Verdict } from './denial.ts';
import { killGate, type KillLevels, type KillRule, type Position } from './kill/levels.ts';
import { isTerminal, type OrderRecord } from './order-book.ts';
import { checkIntent, type GateTarget, type OrderWindow, type RiskRule } from './risk/gate.ts';
import type { ErrorKind } from './venue-errors.ts';
import type { OrderRuleViolation, VenueOrderRequest, VenueOrderRule } from './venue.ts';

/** The broker's own rules: who may trade, whether the venue can take it now, what the order is. */
export type BrokerRule =
  | 'unknown_strategy' | 'unknown_venue' | 'wrong_venue' | 'unknown_order' | 'order_closed' | 'order_pending'
  | 'unsupported' | 'not_leader' | 'broker_disconnected' | 'not_reconciled' | 'invalid_order' | 'no_change'
  | 'modify_pending' | 'max_modifications' | 'rate_limited';

/**
 * Every rule an intent can be refused by. Judged before any write: the broker's own, the venue's
 * order rules, the kill level, the risk limits (`decide` below, in that order). Found on the way:
 * a message that is no intent at all or arrives on another strategy's subject (the door,
 * broker/broker-actor.ts), a write-ahead the event log did not store, a venue that refused.
 */
export type DenialRule =
  | BrokerRule | VenueOrderRule | KillRule | RiskRule
  | 'invalid_payload' | 'strategy_mismatch' | 'event_log_unavailable' | `venue_${ErrorKind}`;

/** What a venue looks like to the rules, now. */
export type VenueView = {
  venue: Venue;
  connected: boolean;
  /** Reconciled since start: no order goes out before the first run has passed. */
  reconciled: boolean;
  canModify: boolean;
  /** The most modifications the venue takes per order (Kite: 25); absent = no cap. */
  maxModificationsPerOrder?: number;
  checkOrder?: (req: VenueOrderRequest) => OrderRuleViolation | undefined;
};

/**
 * Everything the rules read, as the broker knows it (never the strategy's claim). The broker
 * fills it in (broker/intents.ts); tests write it by hand.
 */
export type DecisionView = {
  now: number;
  strategy: StrategySpec | undefined;
  /** A place's venue; a modify's or cancel's: the venue of the order it targets. */
  venue: VenueView | undefined;
  /** The order a modify or cancel targets, as the broker's book has it. */
  target: OrderRecord | undefined;
  /** Why this broker may not trade (it lost its lease), if so. */
  fenced: string | undefined;
  kill: { levels: KillLevels; mustRestart: boolean };
  /** The strategy's net position in a symbol. */
  position: (symbol: string) => number;
  /** The strategy's open orders. */
  openOrders: readonly OrderRecord[];
  lastPrice: (venue: Venue, symbol: string) => number | undefined;
  /** When the strategy's places in the last minute were accepted. */
  recentPlaces: OrderWindow;
  /** The target already has a modify on its way. */
  modifyPending: boolean;
  /** How long this write would queue for the venue's rate limit (ms; Infinity: past what the limiter looks ahead). */
  rateWaitMs: () => number;
  maxRateWaitMs: number;
};

export type Decision = { ok: true } | Denial<DenialRule>;

type Judged = PlaceIntent | ModifyIntent | Extract<Intent, { action: 'cancel' }>;
type Rule = { applies: readonly Judged['action'][]; judge: (intent: Judged, view: DecisionView) => Verdict<DenialRule> | undefined };

const PASS = undefined;
const ORDERS: readonly Judged['action'][] = ['place', 'modify'];
const TARGETED: readonly Judged['action'][] = ['modify', 'cancel'];

/**
 * Every pre-trade rule, in the order they are judged; the first refusal wins. A place and a
 * modify meet the same list (a modify is judged as the order it becomes); a cancel only needs
 * its order to be there and live.
 */
export const RULES: readonly Rule[] = [
  { applies: ORDERS, judge: (i, v) => v.strategy ? PASS : deny('unknown_strategy', `strategy ${i.strategyId} is not registered`) },
  { applies: ['place'], judge: (i, v) => v.venue ? PASS : deny('unknown_venue', `venue ${(i as PlaceIntent).venue} is not configured`) },
  { applies: ['place'], judge: (i, v) => v.strategy!.venue === (i as PlaceIntent).venue ? PASS : deny('wrong_venue', `strategy ${v.strategy!.id} trades on ${v.strategy!.venue}`) },
  { applies: TARGETED, judge: (i, v) => targetRule(i as ModifyIntent, v) },
  { applies: ['modify'], judge: (_i, v) => v.venue?.canModify ? PASS : deny('unsupported', `${v.target!.venue} orders cannot be modified here; cancel and place instead`) },
  { applies: ORDERS, judge: (_i, v) => v.fenced === undefined ? PASS : deny('not_leader', `this broker lost its lease (${v.fenced}); another broker trades`) },
  { applies: ORDERS, judge: (_i, v) => v.venue!.connected ? PASS : deny('broker_disconnected', `${v.venue!.venue} is disconnected; submissions resume after reconnect and reconciliation`) },
  { applies: ORDERS, judge: (i, v) => v.venue!.reconciled ? PASS : deny('not_reconciled', `${v.venue!.venue} has not been reconciled since start; ${i.action === 'place' ? 'no new orders' : 'no changes'} until it is`) },
  { applies: ORDERS, judge: (i, v) => orderShape(i as PlaceIntent | ModifyIntent, v) },
  { applies: ['modify'], judge: (i, v) => v.modifyPending ? deny('modify_pending', `order ${(i as ModifyIntent).targetIntentId} has a modify on its way; send the next one after its answer`) : PASS },
  { applies: ['modify'], judge: (i, v) => modificationCap(i as ModifyIntent, v) },
  { applies: ORDERS, judge: (i, v) => venueRule(i as PlaceIntent | ModifyIntent, v) },
  { applies: ORDERS, judge: (i, v) => killRule(i as PlaceIntent | ModifyIntent, v) },
  { applies: ORDERS, judge: (i, v) => riskRule(i as PlaceIntent | ModifyIntent, v) },
  { applies: ORDERS, judge: (i, v) => rateRule(i as PlaceIntent | ModifyIntent, v) },
];

/** Judges one intent against every rule, in order: the first refusal, or ok. Pure: the view is all it reads. */
export function decide(intent: Judged, view: DecisionView): Decision {
  for (const rule of RULES) {
    if (!rule.applies.includes(intent.action)) continue;
    const v = rule.judge(intent, view);
    if (v && !v.ok) return v;
  }
  return { ok: true };
}

function targetRule(intent: ModifyIntent, v: DecisionView): Verdict<DenialRule> | undefined {
  const t = v.target;
  if (!t || t.strategyId !== intent.strategyId) return deny('unknown_order', `no order ${intent.targetIntentId} for ${intent.strategyId}`);
  if (isTerminal(t.state)) return deny('order_closed', `order ${intent.targetIntentId} is already ${t.state}`);
  if (!t.venueOrderId) return deny('order_pending', `order ${intent.targetIntentId} has no venue id yet`);
  return PASS;
}

/** An order from before order types were logged is a LIMIT order when it has a price. */
function orderTypeOf(o: OrderRecord): 'LIMIT' | 'MARKET' {
  return o.orderType ?? (o.limitPrice !== undefined ? 'LIMIT' : 'MARKET');
}

/** A modify's order as it would be after the change: its type, new quantity and price. */
export function modifiedOrder(intent: ModifyIntent, target: OrderRecord): { orderType: 'LIMIT' | 'MARKET'; qty: number; limitPrice: number | undefined } {
  return { orderType: orderTypeOf(target), qty: intent.qty ?? target.qty, limitPrice: intent.limitPrice ?? target.limitPrice };
}

function orderShape(intent: PlaceIntent | ModifyIntent, v: DecisionView): Verdict<DenialRule> | undefined {
  if (intent.action === 'place') return intent.orderType === 'LIMIT' && intent.limitPrice === undefined ? deny('invalid_order', 'LIMIT order needs limitPrice') : PASS;
  const t = v.target!;
  const { orderType, qty, limitPrice } = modifiedOrder(intent, t);
  if (intent.qty === undefined && intent.limitPrice === undefined) return deny('invalid_order', 'a modify needs a new qty or a new limitPrice');
  if (orderType === 'MARKET' && intent.limitPrice !== undefined) return deny('invalid_order', 'a MARKET order has no limit price to change');
  if (qty <= t.filledQty) return deny('invalid_order', `new quantity ${qty} must exceed the ${t.filledQty} already filled`, { limit: t.filledQty, actual: qty });
  if (qty === t.qty && limitPrice === t.limitPrice) return deny('no_change', `order ${intent.targetIntentId} already has quantity ${qty}${limitPrice !== undefined ? ` and price ${limitPrice}` : ''}`);
  return PASS;
}

/** What the venue's own rules are asked about: a place as it is, a modify as the order it becomes. */
function venueOrderOf(intent: PlaceIntent | ModifyIntent, v: DecisionView): VenueOrderRequest {
  if (intent.action === 'place') {
    return { intentId: intent.intentId, symbol: intent.symbol, side: intent.side, qty: intent.qty, orderType: intent.orderType, ...(intent.limitPrice !== undefined ? { limitPrice: intent.limitPrice } : {}) };
  }
  const t = v.target!;
  const { orderType, qty, limitPrice } = modifiedOrder(intent, t);
  return { intentId: t.intentId, symbol: t.symbol, side: t.side, qty, orderType, ...(orderType === 'LIMIT' && limitPrice !== undefined ? { limitPrice } : {}) };
}

/** The venue's cap on changes to one order (the modify writes the log counted), judged before any write. */
function modificationCap(intent: ModifyIntent, v: DecisionView): Verdict<DenialRule> | undefined {
  const cap = v.venue!.maxModificationsPerOrder;
  const t = v.target!;
  if (cap === undefined || (t.modifies ?? 0) < cap) return PASS;
  return deny('max_modifications', `order ${intent.targetIntentId} has been modified ${t.modifies} times, the most ${t.venue} takes per order; cancel it and place a new one`, { limit: cap, actual: t.modifies ?? 0 });
}

/** The venue's own order rules (Kite's instrument list, lot size, tick size). */
function venueRule(intent: PlaceIntent | ModifyIntent, v: DecisionView): Verdict<DenialRule> | undefined {
  const broken = v.venue!.checkOrder?.(venueOrderOf(intent, v));
  return broken ? deny(broken.rule, broken.reason, broken.figures) : PASS;
}

/** The order a modify changes, in the shape the kill and risk rules judge it. */
function gateTarget(v: DecisionView): GateTarget | undefined {
  const t = v.target;
  if (!t) return undefined;
  return {
    symbol: t.symbol, venue: t.venue, side: t.side, qty: t.qty, filledQty: t.filledQty, orderType: orderTypeOf(t),
    ...(t.limitPrice !== undefined ? { limitPrice: t.limitPrice } : {}),
  };
}

/** A place names its instrument; a modify changes the order it targets. */
function instrumentOf(intent: PlaceIntent | ModifyIntent, v: DecisionView): { venue: Venue; symbol: string } {
  return intent.action === 'place' ? intent : { venue: v.target!.venue, symbol: v.target!.symbol };
}

/**
 * The strategy's position in the intent's instrument with what its open orders there still
 * want on each side: the worst case (every open order filling) is what maxPosition and the
 * reduce-only check judge, or six orders of 5 each pass a maxPosition of 20 one by one.
 */
export function exposure(intent: PlaceIntent | ModifyIntent, v: DecisionView): Position {
  const { venue, symbol } = instrumentOf(intent, v);
  let openBuyQty = 0;
  let openSellQty = 0;
  for (const o of v.openOrders) {
    if (o.venue !== venue || o.symbol !== symbol) continue;
    const left = Math.max(0, o.qty - o.filledQty);
    if (o.side === 'BUY') openBuyQty += left;
    else openSellQty += left;
  }
  return { net: v.position(symbol), openBuyQty, openSellQty };
}

/** Kill level first: a halted strategy is refused before its limits are even looked at. */
function killRule(intent: PlaceIntent | ModifyIntent, v: DecisionView): Verdict<DenialRule> {
  const t = v.target;
  const target = intent.action === 'modify' && t ? { side: t.side, qty: t.qty, filledQty: t.filledQty } : undefined;
  return killGate(v.kill.levels, v.kill.mustRestart, intent, exposure(intent, v), target);
}

/** The strategy's own limits from the registry, with its orders-per-minute window. */
function riskRule(intent: PlaceIntent | ModifyIntent, v: DecisionView): Verdict<DenialRule> {
  const spec = v.strategy!;
  const { venue, symbol } = instrumentOf(intent, v);
  const last = v.lastPrice(venue, symbol);
  const target = intent.action === 'modify' ? gateTarget(v) : undefined;
  return checkIntent(intent, {
    limits: spec.risk, instruments: spec.instruments, position: exposure(intent, v), openOrders: v.openOrders.length,
    ...(last !== undefined ? { lastPrice: last } : {}),
  }, v.recentPlaces, v.now, target).permit;
}

/**
 * A write that would queue for the venue's rate limit longer than the bound is denied before
 * any write: the strategy would have stopped waiting for its answer.
 */
function rateRule(intent: PlaceIntent | ModifyIntent, v: DecisionView): Verdict<DenialRule> | undefined {
  const wait = v.rateWaitMs();
  const maxWait = v.maxRateWaitMs;
  if (wait <= maxWait) return PASS;
  const howLong = Number.isFinite(wait) ? `${Math.ceil(wait / 1000)} s` : 'behind more than the limiter looks ahead';
  const what = intent.action === 'place' ? 'order rate limit: this order' : 'modify rate limit: this modify';
  return deny('rate_limited', `${v.venue!.venue} ${what} would wait ${howLong} (more than ${maxWait / 1000} s); try later`, { limit: maxWait, actual: Number.isFinite(wait) ? Math.ceil(wait) : 'never' });
}
