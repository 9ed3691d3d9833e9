import type { Venue } from '../actors/messages.ts';
import { TICK_MODES, type TickMode } from '../config/tick-mode.ts';

export type InstrumentNeed = { venue: Venue; enabled: boolean; instruments: readonly string[]; tickMode?: TickMode | undefined };

/**
 * The union of what running strategies declare for one venue, each instrument in the richest
 * mode any of them asks for (a `full` subscriber's depth serves an `ltp` one too). An instrument
 * no strategy names a mode for maps to undefined: the venue's default applies.
 */
export function wantedInstruments(needs: Iterable<InstrumentNeed>, venue: Venue): Map<string, TickMode | undefined> {
  const out = new Map<string, TickMode | undefined>();
  const rank = (m: TickMode | undefined) => (m === undefined ? -1 : TICK_MODES.indexOf(m));
  for (const n of needs) {
    if (n.venue !== venue || !n.enabled) continue;
    for (const i of n.instruments) {
      if (!out.has(i) || rank(n.tickMode) > rank(out.get(i))) out.set(i, n.tickMode);
    }
  }
  return new Map([...out.entries()].sort(([a], [b]) => a.localeCompare(b)));
}
