import type { LogEvent, StoredEvent } from './schema.ts';

/** One readable line per log entry, for `orch events`. Prices stay in minor units (as logged). */
export function formatEvent(s: StoredEvent): string {
  const e = s.event;
  const who = [e.strategyId ? `strategy=${e.strategyId}` : '', e.intentId ? `intent=${e.intentId}` : ''].filter(Boolean).join(' ');
  return `${s.time} #${s.seq} ${e.kind.padEnd(12)} ${who}${who ? '  ' : ''}${describe(e)}`.trimEnd();
}

function describe(e: LogEvent): string {
  switch (e.kind) {
    case 'intent': {
      const i = e.intent;
      if (i.action === 'place') return `place ${i.side} ${i.qty} ${i.venue}:${i.symbol} ${i.orderType}${i.limitPrice !== undefined ? ` @ ${i.limitPrice}` : ''}`;
      return `${i.action} ${i.targetIntentId}`;
    }
    case 'decision':
      return e.decision === 'accepted' ? 'accepted' : `denied ${e.rule}: ${e.reason}`;
    case 'venue_write':
      return `${e.op} → ${e.venue}${e.venueOrderId ? ` order ${e.venueOrderId}` : ''}${e.change ? ` ${changeText(e.change)}` : ''}`;
    case 'venue_answer':
      return e.error ? `${e.op} failed: ${e.error.kind} ${e.error.message}` : `${e.op} ok${e.venueOrderId ? ` order ${e.venueOrderId}` : ''}${e.change ? ` ${changeText(e.change)}` : ''}${e.duplicate ? ' (found by tag)' : ''}`;
    case 'order_state':
      return `${e.state} (${e.venueStatus}) filled ${e.filledQty}${e.avgPrice !== undefined ? ` avg ${e.avgPrice}` : ''}${e.message ? ` — ${e.message}` : ''}`;
    case 'fill':
      return `${e.side} ${e.fill.qty} ${e.symbol} @ ${e.fill.price} (fill ${e.fill.fillId})`;
    case 'adopt':
      return `adopted ${e.venue} order ${e.venueOrderId}: ${e.side} ${e.qty} ${e.symbol}`;
    case 'kill':
      return `level ${e.level} ${e.scope.kind === 'global' ? 'global' : `strategy ${e.scope.strategyId}`} by ${e.by}: ${e.reason}`;
    case 'reconcile':
      return `${e.report.venue} ${e.report.result} (${e.report.trigger}) ${e.report.differences.length} difference(s)${e.report.error ? `: ${e.report.error}` : ''}`;
    case 'broker':
      return e.event.type + ('venue' in e.event ? ` ${e.event.venue}` : '');
    case 'lease':
      return `${e.action} by ${e.holder}`;
    case 'oversize':
      return `${e.originalKind} of ${e.bytes} bytes too large to store; kept its start: ${e.head.slice(0, 200)}`;
    default: {
      const never: never = e;
      return never;
    }
  }
}

/** A modify's effect, as the operator reads it: which order, its new quantity and price. */
function changeText(c: { targetIntentId: string; qty: number; limitPrice?: number }): string {
  return `(${c.targetIntentId}: qty ${c.qty}${c.limitPrice !== undefined ? ` @ ${c.limitPrice}` : ''})`;
}
