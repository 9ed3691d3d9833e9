import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { unknownNames } from '../../support/promql-names.ts';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const dir = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));

function promtool(...args: string[]): string {
  const res = spawnSync(PROMTOOL, args, { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  assert.equal(res.error, undefined, `could not run ${PROMTOOL}: ${res.error?.message}`);
  const out = `${res.stdout}${res.stderr}`;
  assert.equal(res.status, 0, `promtool ${args.join(' ')} exited ${res.status}:\n${out}`);
  return out;
}

test('alert rules pass promtool check rules', () => {
  assert.match(promtool('check', 'rules', 'alerts.yml'), /SUCCESS: \d+ rules found/);
});

test('alert rules pass their promtool unit tests', () => {
  assert.match(promtool('test', 'rules', 'alerts.test.yml'), /SUCCESS/);
});

test('the prometheus config is valid and loads the rules', () => {
  assert.match(promtool('check', 'config', 'prometheus.yml'), /1 rule files found/);
});

type Rule = { alert?: string; expr: string; labels?: Record<string, string> };
const rules = (): Rule[] =>
  (parse(readFileSync(`${dir}/alerts.yml`, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

test('every alert reads only catalogue metrics and carries a known severity', () => {
  for (const r of rules()) {
    assert.deepEqual(unknownNames(r.expr), [], `${r.alert} uses metrics outside docs/metrics.md`);
    assert.ok(['page', 'warning', 'info'].includes(r.labels?.severity ?? ''), `${r.alert} severity`);
  }
});

test('each of the operating signals has an alert, and every alert has a unit test', () => {
  const names = rules().map((r) => r.alert);
  for (const signal of [
    'OrchMarketDataStale', 'OrchBrokerDisconnected', 'OrchRejectRateHigh', 'OrchLimiterHeadroomLow',
    'OrchVenueThrottling', 'OrchDailyLossLimitBreached', 'OrchDrawdownLimitBreached', 'OrchReconcileMismatch',
    'OrchKillSwitchEngaged',
  ]) assert.ok(names.includes(signal), `missing alert ${signal}`);
  const tests = readFileSync(`${dir}/alerts.test.yml`, 'utf8');
  for (const n of names) assert.match(tests, new RegExp(`alertname: ${n}\\n`), `${n} has no promtool test`);
});
