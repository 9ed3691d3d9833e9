import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { METRIC_NAMES } from '../../../actors/metric-catalogue.ts';
import { orchNamesIn, unknownNames } from '../../support/promql-names.ts';

type Target = { refId: string; expr: string };
type Panel = { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: Target[]; panels?: Panel[] };
type Dashboard = {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; query: string | { query: string } }[] };
  annotations: { list: { expr?: string }[] };
};

const text = readFileSync(new URL('../../../deploy/grafana/orch-dashboard.json', import.meta.url), 'utf8');

function load(): Dashboard {
  return JSON.parse(text) as Dashboard;
}

function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every PromQL string in the dashboard: panel targets, variable queries, annotations. */
function allExprs(d: Dashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of allPanels(d)) for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
  for (const v of d.templating.list) {
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    if (v.name !== 'datasource') out.push({ where: `variable ${v.name}`, expr: q });
  }
  for (const a of d.annotations.list) if (a.expr) out.push({ where: 'annotation', expr: a.expr });
  return out;
}

test('the dashboard is valid JSON with a stable uid', () => {
  const d = load();
  assert.equal(d.uid, 'orch-main');
  assert.ok(d.panels.length > 0);
});

test('every dashboard query reads only metrics from the catalogue', () => {
  for (const { where, expr } of allExprs(load())) {
    assert.ok(orchNamesIn(expr).length > 0, `${where} reads no orch_ metric: ${expr}`);
    assert.deepEqual(unknownNames(expr), [], `${where}: ${expr}`);
  }
});

test('every catalogue metric is shown somewhere on the dashboard', () => {
  const used = new Set(allExprs(load()).flatMap(({ expr }) => orchNamesIn(expr)));
  const missing = METRIC_NAMES.filter((n) => !used.has(n));
  assert.deepEqual(missing, []);
});

test('panels have unique ids, fit the 24-column grid and have a query each', () => {
  const panels = allPanels(load());
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'duplicate panel id');
  for (const p of panels) {
    assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title} overflows the grid`);
    if (p.type === 'row') continue;
    assert.ok((p.targets ?? []).length > 0, `${p.title} has no query`);
    const refs = p.targets!.map((t) => t.refId);
    assert.equal(new Set(refs).size, refs.length, `${p.title} repeats a refId`);
  }
});

test('the catalogue check catches a metric that does not exist', () => {
  assert.deepEqual(unknownNames('rate(orch_tickz_total[1m]) + orch_tick_lag_seconds_bucket'), ['orch_tickz_total']);
  assert.deepEqual(unknownNames('orch_ticks_total{subject="orch_fake_metric"}'), []);
});

test('every dashboard query is valid PromQL (checked by promtool as recording rules)', () => {
  // Grafana's variables are not PromQL; substitute what Grafana would send.
  const exprs = allExprs(load())
    .filter(({ where }) => !where.startsWith('variable'))
    .map(({ expr }) => expr.replaceAll('$__rate_interval', '1m').replace(/\$(venue|strategy)\b/g, '.*'));
  const rules = { groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:q${i}`, expr })) }] };
  const dir = mkdtempSync(join(tmpdir(), 'orch-dash-'));
  try {
    writeFileSync(join(dir, 'rules.yml'), stringify(rules));
    const res = spawnSync(process.env.PROMTOOL ?? 'promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(res.error, undefined, res.error?.message);
    assert.equal(res.status, 0, `${res.stdout}${res.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
