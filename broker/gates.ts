import type { Clock } from '../actors/clock.ts';
import type { PlaceIntent } from '../actors/messages.ts';
import type { GateView, IntentGate } from './broker-actor.ts';
import { killGate, type Position } from './kill/levels.ts';
import type { KillStore } from './kill/kill-store.ts';
import { checkIntent, type OrderWindow } from './risk/gate.ts';

/**
 * The strategy's position in the intent's instrument with what its open orders there still
 * want on each side: the worst case (every open order filling) is what maxPosition and the
 * reduce-only check judge, or six orders of 5 each pass a maxPosition of 20 one by one.
 */
export function gatePosition(intent: PlaceIntent, view: GateView): Position {
  let openBuyQty = 0;
  let openSellQty = 0;
  for (const o of view.openOrders) {
    if (o.venue !== intent.venue || o.symbol !== intent.symbol) continue;
    const left = Math.max(0, o.qty - o.filledQty);
    if (o.side === 'BUY') openBuyQty += left;
    else openSellQty += left;
  }
  return { net: view.position(intent.symbol), openBuyQty, openSellQty };
}

/** Kill level first: a halted strategy is refused before its limits are even looked at. */
export function killSwitchGate(store: Pick<KillStore, 'current' | 'mustRestart'>): IntentGate {
  return (intent, view) => {
    const p = killGate(store.current(), store.mustRestart(intent.strategyId), intent, gatePosition(intent, view));
    return p.ok ? p : { ok: false, rule: p.rule, reason: p.reason, figures: p.figures };
  };
}

/** Per-strategy pre-trade limits from YAML, with each strategy's orders-per-minute window. */
export function riskLimitGate(clock: Clock): IntentGate {
  const windows = new Map<string, OrderWindow>();
  return (intent, view) => {
    const r = checkIntent(
      intent,
      {
        limits: view.spec.risk,
        instruments: view.spec.instruments,
        position: gatePosition(intent, view),
        openOrders: view.openOrders.length,
        ...(view.lastPrice(intent.venue, intent.symbol) !== undefined ? { lastPrice: view.lastPrice(intent.venue, intent.symbol)! } : {}),
      },
      windows.get(intent.strategyId) ?? [],
      clock,
    );
    windows.set(intent.strategyId, r.window);
    return r.permit.ok ? r.permit : { ok: false, rule: r.permit.rule, reason: r.permit.reason, figures: r.permit.figures };
  };
}
