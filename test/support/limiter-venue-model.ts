import { mulberry32 } from '../../actors/prng.ts';
import { resolveCategory, type LimitsConfig } from '../../broker/limiter/limits.ts';
import { toMilli } from '../../broker/limiter/window-log.ts';

/**
 * How a venue enforces its limits: a counter per calendar-aligned window (second, minute),
 * answering 429 once a call would push any counter past the limit. Deliberately the opposite
 * mechanism to the limiter's sliding logs, so agreement is evidence rather than tautology.
 */
export class VenueModel {
  private readonly counters = new Map<string, number>();
  readonly accepted = new Map<string, number>();
  readonly rejected = new Map<string, number>();

  constructor(private readonly limits: LimitsConfig) {}

  /** Returns 200 or 429 for a call of `cost` tokens arriving at `at`. */
  call(category: string, at: number, cost = 1): 200 | 429 {
    const resolved = resolveCategory(this.limits, category);
    if (!resolved) throw new Error(`venue model: unknown category ${category}`);
    const { name, spec } = resolved;
    const milli = toMilli(cost);
    const period = (w: (typeof spec.windows)[number]) => Math.floor((at - (w.calendar?.offsetMs ?? 0)) / w.windowMs);
    const keys = spec.windows.map((w) => `${name}|${w.windowMs}|${period(w)}`);
    const over = spec.windows.some((w, i) => (this.counters.get(keys[i]!) ?? 0) + milli > toMilli(w.limit));
    const tally = over ? this.rejected : this.accepted;
    tally.set(name, (tally.get(name) ?? 0) + milli);
    if (over) return 429;
    keys.forEach((k) => this.counters.set(k, (this.counters.get(k) ?? 0) + milli));
    return 200;
  }

  total429(): number {
    return [...this.rejected.values()].reduce((a, b) => a + b, 0);
  }
}

/** Seeded so a failing randomized run can be replayed from its seed. */
export const rng = mulberry32;

/** Max milli-tokens granted in any half-open interval [t, t + windowMs) over sorted grants. */
export function maxInAnyWindow(grants: readonly { at: number; milli: number }[], windowMs: number): number {
  let best = 0;
  let sum = 0;
  let lo = 0;
  for (let hi = 0; hi < grants.length; hi++) {
    sum += grants[hi]!.milli;
    while (grants[hi]!.at - grants[lo]!.at >= windowMs) sum -= grants[lo++]!.milli;
    best = Math.max(best, sum);
  }
  return best;
}
