import type { Clock } from '../actors/clock.ts';
import type { IntentGate } from './broker-actor.ts';
import { killGate } from './kill/levels.ts';
import type { KillStore } from './kill/kill-store.ts';
import { checkIntent, type OrderWindow } from './risk/gate.ts';

/** Kill level first: a halted strategy is refused before its limits are even looked at. */
export function killSwitchGate(store: KillStore): IntentGate {
  return (intent, view) => {
    const p = killGate(store.current(), store.mustRestart(intent.strategyId), intent, { net: view.position(intent.symbol) });
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
        position: { net: view.position(intent.symbol) },
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
