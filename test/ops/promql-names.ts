import { METRIC_NAMES } from '../../actors/metric-catalogue.ts';

const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

/** The `orch_` metric names a PromQL expression reads (histogram series folded to their metric). */
export function orchNamesIn(expr: string): string[] {
  // strip label matchers and quoted strings first so label values like "orch.intent.x" don't count
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const found = bare.match(/\borch_[a-z0-9_]+/g) ?? [];
  return [...new Set(found.map((n) => (METRIC_NAMES.includes(n) ? n : n.replace(HISTOGRAM_SERIES, ''))))];
}

/** Names used in `expr` that the catalogue does not define. */
export function unknownNames(expr: string): string[] {
  return orchNamesIn(expr).filter((n) => !METRIC_NAMES.includes(n));
}
