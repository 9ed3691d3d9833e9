import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
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

/** Every string in a parsed JSON document (the dashboard's targets, variables, annotations). */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === 'object') return Object.values(v).flatMap(strings);
  return [];
}

/** The `orch_` metrics that deploy/prometheus/alerts.yml and deploy/grafana/orch-dashboard.json read. */
export function namesInDeploy(): string[] {
  const rules = (parse(readFileSync(new URL('../../deploy/prometheus/alerts.yml', import.meta.url), 'utf8')) as { groups: { rules: { expr: string }[] }[] })
    .groups.flatMap((g) => g.rules);
  const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/orch-dashboard.json', import.meta.url), 'utf8')) as unknown;
  const exprs = [...rules.map((r) => r.expr), ...strings(dashboard)];
  return [...new Set(exprs.flatMap(orchNamesIn))].sort();
}
