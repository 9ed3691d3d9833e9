import type { Intent, ModifyIntent, PlaceIntent, Side, Venue } from '../../actors/messages.ts';
import { reduces, type Position } from '../kill/levels.ts';
import type { Figures, FiguredVerdict } from '../denial.ts';
import type { RiskLimits } from '../../config/risk-limits.ts';

/**
 * Pre-trade risk checks for one strategy, as a pure function of the intent, what the broker
 * knows (position, open orders, last price) and a small sliding window of recent orders.
 * A denial names the rule and carries `limit` and `actual` so the trader sees why at once.
 */
export type GateContext = {
  limits: RiskLimits;
  /** The strategy's declared instruments; they apply when `limits.allowedInstruments` is empty. */
  instruments: readonly string[];
  position: Position;
  /** The strategy's orders still open at the venue. */
  openOrders: number;
  /** Last traded price of the instrument, minor units; undefined before the first tick. */
  lastPrice?: number;
};

/** What the order manager knows about the order a modify targets. */
export type GateTarget = {
  symbol: string; venue: Venue; side: Side;
  /** The order's total quantity and what of it has filled (the rest is among the open orders). */
  qty: number; filledQty?: number;
  orderType: 'LIMIT' | 'MARKET'; limitPrice?: number;
};

/** Times (ms) of orders accepted in the last minute, oldest first. */
export type OrderWindow = readonly number[];
export const WINDOW_MS = 60 * 1000; // one minute

/**
 * Quantity units per whole contract, for order value: Kalshi counts hundredths of a contract
 * and prices per whole contract, Kite counts shares (value = qty * price as is).
 */
export const QTY_SCALE: Record<Venue, number> = { kite: 1, kalshi: 100 };

/** What the strategy's risk limits refuse with (broker/decide.ts judges them after the kill level). */
export type RiskRule =
  | 'unknown_order' | 'instrument_not_allowed' | 'max_order_qty' | 'missing_limit_price' | 'no_reference_price'
  | 'price_band' | 'max_order_value' | 'reduce_only' | 'max_position' | 'max_open_orders' | 'orders_per_minute';
type Permit = FiguredVerdict<RiskRule>;

export type GateResult = { permit: Permit; window: OrderWindow };

type Order = {
  venue: Venue;
  symbol: string;
  side: Side;
  qty: number;
  orderType: 'LIMIT' | 'MARKET';
  limitPrice?: number;
  /** A modify's original unfilled quantity, already counted among the open orders; 0 for a place. */
  replacesQty: number;
  /** What of the order has filled already (a modify's `qty` is the new total); 0 for a place. */
  filledQty: number;
};

/**
 * Checks one intent. On acceptance of a place, the returned window holds this order's time.
 * Cancels are never refused and never counted (they only take risk off); a modify is judged at
 * its new size and price but is not a new order: it counts neither against `maxOpenOrders` nor
 * in the orders-per-minute window (the venue's own write limits still pace it, in the limiter).
 */
export function checkIntent(intent: Intent, ctx: GateContext, window: OrderWindow, now: number, target?: GateTarget): GateResult {
  const recent = window.filter((t) => now - t < WINDOW_MS);
  if (intent.action === 'cancel') return { permit: { ok: true }, window: recent };
  const resolved = resolveOrder(intent, target);
  if ('ok' in resolved) return { permit: resolved, window: recent };
  const permit = checkOrder(intent, resolved, ctx, recent, now);
  return { permit, window: permit.ok && intent.action === 'place' ? [...recent, now] : recent };
}

function resolveOrder(intent: PlaceIntent | ModifyIntent, target: GateTarget | undefined): Order | Permit {
  if (intent.action === 'place') return { ...intent, replacesQty: 0, filledQty: 0 };
  if (!target) return deny('unknown_order', `modify of ${intent.targetIntentId}: the order is not known`, { targetIntentId: intent.targetIntentId });
  const filledQty = target.filledQty ?? 0;
  const order: Order = {
    venue: target.venue, symbol: target.symbol, side: target.side, qty: intent.qty ?? target.qty, orderType: target.orderType,
    replacesQty: Math.max(0, target.qty - filledQty), filledQty,
  };
  const price = intent.limitPrice ?? target.limitPrice;
  if (price !== undefined) order.limitPrice = price;
  return order;
}

function checkOrder(intent: PlaceIntent | ModifyIntent, order: Order, ctx: GateContext, recent: OrderWindow, now: number): Permit {
  const { limits } = ctx;
  const allowed = limits.allowedInstruments?.length ? limits.allowedInstruments : ctx.instruments;
  if (!allowed.includes(order.symbol)) {
    return deny('instrument_not_allowed', `${order.symbol} is not among the strategy's instruments`, { limit: allowed.join(','), actual: order.symbol });
  }
  if (order.qty > limits.maxOrderQty) {
    return deny('max_order_qty', `quantity ${order.qty} exceeds the limit ${limits.maxOrderQty}`, { limit: limits.maxOrderQty, actual: order.qty });
  }
  if (order.orderType === 'LIMIT' && order.limitPrice === undefined) {
    return deny('missing_limit_price', 'a LIMIT order needs a limit price', { actual: 'none' });
  }
  const last = ctx.lastPrice;
  if (last === undefined || last <= 0) {
    // Without a reference price neither the band nor a market order's value can be checked.
    return deny('no_reference_price', `no last price for ${order.symbol} yet`, { symbol: order.symbol });
  }
  if (order.limitPrice !== undefined) {
    const diff = Math.abs(order.limitPrice - last);
    if (diff * 10_000 > limits.priceBandBps * last) {
      return deny('price_band', `limit ${order.limitPrice} is ${bps(diff, last)} bps from last ${last}, band ${limits.priceBandBps} bps`, {
        limit: limits.priceBandBps,
        actual: bps(diff, last),
        limitPrice: order.limitPrice,
        lastPrice: last,
      });
    }
  }
  const price = order.limitPrice ?? last;
  const value = Math.ceil((order.qty * price) / QTY_SCALE[order.venue]);
  if (value > limits.maxOrderValue) {
    return deny('max_order_value', `order value ${value} exceeds the limit ${limits.maxOrderValue}`, { limit: limits.maxOrderValue, actual: value, price });
  }
  const pos = positionCheck(intent, order, ctx);
  if (pos) return pos;
  if (intent.action === 'place' && ctx.openOrders + 1 > limits.maxOpenOrders) {
    return deny('max_open_orders', `${ctx.openOrders} orders already open, limit ${limits.maxOpenOrders}`, { limit: limits.maxOpenOrders, actual: ctx.openOrders + 1 });
  }
  if (intent.action === 'place' && recent.length + 1 > limits.ordersPerMinute) {
    const retryAfterMs = WINDOW_MS - (now - recent[0]!);
    return deny('orders_per_minute', `${recent.length} orders in the last minute, limit ${limits.ordersPerMinute}`, {
      limit: limits.ordersPerMinute,
      actual: recent.length + 1,
      retryAfterMs,
    });
  }
  return { ok: true };
}

/**
 * Worst case after the fill: this order and every open order on the same side all fill. An
 * order that leaves the exposure no larger than before always passes, so a position already
 * over a (lowered) limit can still be worked down.
 */
function positionCheck(intent: PlaceIntent | ModifyIntent, order: Order, ctx: GateContext): Permit | undefined {
  const { net, openBuyQty = 0, openSellQty = 0 } = ctx.position;
  const sameSideOpen = Math.max(0, (order.side === 'BUY' ? openBuyQty : openSellQty) - order.replacesQty);
  const sign = order.side === 'BUY' ? 1 : -1;
  const before = net + sign * sameSideOpen;
  // What this order may still add once the change is made: its new total less what has filled.
  const after = before + sign * Math.max(0, order.qty - order.filledQty);
  if (intent.action === 'place' && intent.reduceOnly && !reduces(order.side, order.qty, ctx.position)) {
    return deny('reduce_only', `marked reduce-only but ${order.side} ${order.qty} does not reduce position ${net}`, { limit: net, actual: order.qty });
  }
  if (Math.abs(after) > ctx.limits.maxPosition && Math.abs(after) > Math.abs(before)) {
    return deny('max_position', `position after fill ${after} exceeds the limit ${ctx.limits.maxPosition}`, {
      limit: ctx.limits.maxPosition,
      actual: Math.abs(after),
      position: net,
    });
  }
  return undefined;
}

function bps(diff: number, last: number): number {
  return Math.round((diff * 10_000) / last);
}

function deny(rule: RiskRule, reason: string, figures: Figures): Permit {
  return { ok: false, rule, reason, figures };
}
