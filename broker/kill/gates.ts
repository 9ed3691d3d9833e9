import type { Clock } from '../../actors/clock.ts';
import type { ModifyIntent, PlaceIntent, Venue } from '../../actors/messages.ts';
import type { GateView, IntentGate } from '../broker-actor.ts';
import { killGate, type Position } from './levels.ts';
import type { KillStore } from './kill-store.ts';
import { checkIntent, type OrderWindow } from '../risk/gate.ts';

/**
 * The strategy's position in the intent's instrument with what its open orders there still
 * want on each side: the worst case (every open order filling) is what maxPosition and the
 * reduce-only check judge, or six orders of 5 each pass a maxPosition of 20 one by one.
 */
export function gatePosition(intent: PlaceIntent | ModifyIntent, view: GateView): Position {
  const { venue, symbol } = instrumentOf(intent, view);
  let openBuyQty = 0;
  let openSellQty = 0;
  for (const o of view.openOrders) {
    if (o.venue !== venue || o.symbol !== symbol) continue;
    const left = Math.max(0, o.qty - o.filledQty);
    if (o.side === 'BUY') openBuyQty += left;
    else openSellQty += left;
  }
  return { net: view.position(symbol), openBuyQty, openSellQty };
}

/** A place names its instrument; a modify changes the order it targets, which the broker looked up. */
function instrumentOf(intent: PlaceIntent | ModifyIntent, view: GateView): { venue: Venue; symbol: string } {
  if (intent.action === 'place') return intent;
  return view.target ?? { venue: view.spec.venue, symbol: '' };
}

/** Kill level first: a halted strategy is refused before its limits are even looked at. */
export function killSwitchGate(store: Pick<KillStore, 'current' | 'mustRestart'>): IntentGate {
  return (intent, view) => {
    const t = view.target;
    const target = t ? { side: t.side, qty: t.qty, filledQty: t.filledQty ?? 0 } : undefined;
    const p = killGate(store.current(), store.mustRestart(intent.strategyId), intent, gatePosition(intent, view), target);
    return p.ok ? p : { ok: false, rule: p.rule, reason: p.reason, figures: p.figures };
  };
}

/** Per-strategy pre-trade limits from YAML, with each strategy's orders-per-minute window. */
export function riskLimitGate(clock: Clock): IntentGate {
  const windows = new Map<string, OrderWindow>();
  return (intent, view) => {
    const { venue, symbol } = instrumentOf(intent, view);
    const last = view.lastPrice(venue, symbol);
    const r = checkIntent(
      intent,
      {
        limits: view.spec.risk,
        instruments: view.spec.instruments,
        position: gatePosition(intent, view),
        openOrders: view.openOrders.length,
        ...(last !== undefined ? { lastPrice: last } : {}),
      },
      windows.get(intent.strategyId) ?? [],
      clock,
      view.target,
    );
    windows.set(intent.strategyId, r.window);
    return r.permit.ok ? r.permit : { ok: false, rule: r.permit.rule, reason: r.permit.reason, figures: r.permit.figures };
  };
}
