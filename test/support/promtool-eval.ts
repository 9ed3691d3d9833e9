import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { METRIC_NAMES } from '../../actors/metric-catalogue.ts';
import { orchNamesIn } from './promql-names.ts';
import { metricOf, type Sample } from './scrape.ts';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const ALERTS = fileURLToPath(new URL('../../deploy/prometheus/alerts.yml', import.meta.url));

type Rule = { alert?: string; expr: string };

/** The expression of alert `name` in deploy/prometheus/alerts.yml. */
export function alertExpr(name: string): string {
  const rules = (parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
  const r = rules.find((x) => x.alert === name);
  if (!r) throw new Error(`no alert ${name} in ${ALERTS}`);
  return r.expr;
}

/**
 * Evaluates `expr` with promtool over samples scraped from a running system: `scrapes` are one
 * minute apart (a series missing from a scrape is absent there), the last one holds for five
 * more minutes, and the result one minute after the last scrape must be exactly `expected`
 * (promtool's own comparison; no Prometheus server).
 */
export function evaluatesTo(expr: string, scrapes: readonly (readonly Sample[])[], expected: { labels: string; value: number }[]): { ok: boolean; output: string } {
  const wanted = new Set(orchNamesIn(expr));
  const names = [...new Set(scrapes.flatMap((samples) => samples.filter((s) => wanted.has(metricOf(s, METRIC_NAMES))).map((s) => s.series)))];
  const series = names.map((name) => {
    const values = scrapes.map((samples) => samples.find((s) => s.series === name)?.value);
    const last = values.at(-1);
    return { series: name, values: [...values.slice(0, -1).map((v) => (v === undefined ? '_' : String(Number(v)))), last === undefined ? '_x5' : `${Number(last)}+0x5`].join(' ') };
  });
  const evalMinutes = scrapes.length;
  const dir = mkdtempSync(join(tmpdir(), 'orch-promtool-'));
  try {
    const file = join(dir, 'scraped.test.yml');
    writeFileSync(file, stringify({
      evaluation_interval: '1m',
      tests: [{ interval: '1m', input_series: series, promql_expr_test: [{ expr, eval_time: `${evalMinutes}m`, exp_samples: expected }] }],
    }));
    const res = spawnSync(PROMTOOL, ['test', 'rules', file], { encoding: 'utf8', timeout: 30_000 });
    if (res.error) throw new Error(`could not run ${PROMTOOL}: ${res.error.message}`);
    return { ok: res.status === 0, output: `${res.stdout}${res.stderr}\ninput series:\n${series.map((s) => `  ${s.series} ${s.values}`).join('\n')}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
