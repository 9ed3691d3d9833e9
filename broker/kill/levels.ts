import type { Intent, KillLevel, KillScope, Side } from '../../actors/messages.ts';
import { KILL_LEVEL_NAMES } from '../../actors/messages.ts';
import { assertNever } from '../../actors/assert-never.ts';
import type { Figures, FiguredVerdict } from '../denial.ts';

/**
 * What the latched kill level lets a strategy do, as pure functions. The broker asks this
 * before the risk gate; a denial is an answer (rule, reason, figures), never an exception.
 */
export type { Figures };
/** What the kill level refuses with: the level itself, or a process that must restart first. */
export type KillRule = 'kill_level' | 'restart_required';
export type Permit = FiguredVerdict<KillRule>;

/** One latched entry, as stored under `global` or `strategy.<id>`. */
export type KillEntry = {
  level: KillLevel;
  reason: string;
  by: string;
  ts: number;
  figures?: Figures;
  /** KV revision of the write that produced this entry (0 = never written). */
  revision: number;
  /**
   * Set on a level-4 raise and kept by the reset that lowers it: processes that were running
   * while level 4 was raised must restart before they trade again.
   */
  restartRequired?: boolean;
  /** Revision of the level-4 raise that demanded the restart. */
  flattenRevision?: number;
};

export type KillLevels = {
  global: KillEntry;
  strategies: Readonly<Record<string, KillEntry>>;
};

export const ACTIVE_ENTRY: KillEntry = Object.freeze({ level: 0, reason: 'never raised', by: 'default', ts: 0, revision: 0 });

/** The level that applies to one strategy: a global halt cannot be undone by a strategy-scoped 0. */
export function effectiveLevel(levels: KillLevels, strategyId: string): KillLevel {
  const own = levels.strategies[strategyId]?.level ?? 0;
  return Math.max(levels.global.level, own) as KillLevel;
}

export function scopeKey(scope: KillScope): string {
  return scope.kind === 'global' ? 'global' : `strategy.${scope.strategyId}`;
}

/** The Prometheus label and log name of a scope: "global" or the strategy id. */
export function scopeLabel(scope: KillScope): string {
  return scope.kind === 'global' ? 'global' : scope.strategyId;
}

/**
 * A strategy's position in the intent's instrument: `net` is signed (long > 0, short < 0).
 * Open orders on each side count against "reducing" so two SELLs that each fit the long
 * position cannot together flip it short.
 */
export type Position = { net: number; openBuyQty?: number; openSellQty?: number };

/** The order a modify targets, as the order manager knows it: total quantity and what has filled. */
export type ModifyTarget = { side: Side; qty: number; filledQty?: number };

/** True when `qty` more on `side` (on top of open orders on that side) only shrinks |net|. */
export function reduces(side: Side, qty: number, position: Position): boolean {
  if (side === 'SELL') return position.net > 0 && qty + (position.openSellQty ?? 0) <= position.net;
  return position.net < 0 && qty + (position.openBuyQty ?? 0) <= -position.net;
}

function deny(level: KillLevel, intent: Intent, why: string, extra: Figures = {}): Permit {
  return {
    ok: false,
    rule: 'kill_level',
    reason: `kill level ${level} (${KILL_LEVEL_NAMES[level]}): ${why}`,
    figures: { level, action: intent.action, ...extra },
  };
}

/**
 * Level 0 permits everything; 1 only cancels (the broker also cancels the strategy's open
 * orders); 2 cancels and orders that reduce the position; 3 and 4 nothing at all, since the
 * broker cancels every open order itself and a strategy's own cancel would only race it.
 */
export function permits(level: KillLevel, intent: Intent, position: Position, target?: ModifyTarget): Permit {
  switch (level) {
    case 0:
      return { ok: true };
    case 1:
      return intent.action === 'cancel' ? { ok: true } : deny(level, intent, 'no new orders or modifications; cancels only');
    case 2:
      return reduceOnly(intent, position, target);
    case 3:
    case 4:
      return deny(level, intent, 'the broker cancels every open order itself; no strategy intents');
    default:
      return assertNever(level);
  }
}

function reduceOnly(intent: Intent, position: Position, target: ModifyTarget | undefined): Permit {
  const figs = (side: Side, qty: number): Figures => ({
    side,
    qty,
    position: position.net,
    openSameSide: (side === 'SELL' ? position.openSellQty : position.openBuyQty) ?? 0,
  });
  switch (intent.action) {
    case 'cancel':
      return { ok: true };
    case 'place':
      return reduces(intent.side, intent.qty, position)
        ? { ok: true }
        : deny(2, intent, `only orders that reduce the position; ${intent.side} ${intent.qty} does not`, figs(intent.side, intent.qty));
    case 'modify': {
      if (!target) return deny(2, intent, 'modify of an unknown order cannot be shown to reduce the position');
      const newQty = intent.qty ?? target.qty;
      const filled = target.filledQty ?? 0;
      // The target's unfilled quantity is already among the open orders; count it once, at its new size.
      const left = Math.max(0, target.qty - filled);
      const others: Position = {
        ...position,
        ...(target.side === 'SELL'
          ? { openSellQty: Math.max(0, (position.openSellQty ?? 0) - left) }
          : { openBuyQty: Math.max(0, (position.openBuyQty ?? 0) - left) }),
      };
      if (newQty > target.qty) return deny(2, intent, `a modify may not grow the order (${target.qty} → ${newQty})`, figs(target.side, newQty));
      return reduces(target.side, Math.max(0, newQty - filled), others)
        ? { ok: true }
        : deny(2, intent, `only orders that reduce the position; ${target.side} ${newQty} does not`, figs(target.side, newQty));
    }
    default:
      return assertNever(intent);
  }
}


/**
 * The broker's kill gate for one intent: a process that must restart (level 4 was reset while
 * it ran) refuses everything; otherwise the strategy's effective level decides.
 */
export function killGate(levels: KillLevels, mustRestart: boolean, intent: Intent, position: Position, target?: ModifyTarget): Permit {
  if (mustRestart) {
    // The entry that demanded it: the global one, or this strategy's own level 4.
    const own = levels.strategies[intent.strategyId];
    const demanding = levels.global.restartRequired ? levels.global : own?.restartRequired ? own : levels.global;
    const stillLatched = demanding.level === 4;
    return {
      ok: false,
      rule: 'restart_required',
      reason: stillLatched
        ? 'level 4 (FLATTEN) was raised while this process ran and is still latched; reset it, then restart this process before trading'
        : 'level 4 (FLATTEN) was raised and then reset while this process ran; restart it before trading',
      figures: { flattenRevision: demanding.flattenRevision ?? demanding.revision, level: demanding.level },
    };
  }
  return permits(effectiveLevel(levels, intent.strategyId), intent, position, target);
}
