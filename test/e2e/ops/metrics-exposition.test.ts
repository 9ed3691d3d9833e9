import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { catalogue, METRIC_NAMES } from '../../../actors/metric-catalogue.ts';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

function fill(r: Registry): void {
  const m = catalogue(r);
  m.ticksTotal.inc({ venue: 'kite' }, 120);
  m.tickLagSeconds.observe({ venue: 'kite' }, 0.012);
  m.mdLastTickAgeSeconds.set({ venue: 'kalshi' }, 1.5);
  m.wsConnected.set({ venue: 'kite' }, 1);
  m.wsReconnectsTotal.inc({ venue: 'kite' });
  m.kalshiBookResyncsTotal.inc();
  m.ordersSubmittedTotal.inc({ strategy: 'mean_rev', venue: 'kite' }, 3);
  m.ordersTotal.inc({ strategy: 'mean_rev', venue: 'kite', outcome: 'rejected' });
  m.intentsDeniedTotal.inc({ strategy: 'mean_rev', rule: 'max_position' });
  m.limiterTokens.set({ category: 'kite.orders' }, 7);
  m.limiterCapacity.set({ category: 'kite.orders' }, 10);
  m.limiterQueueDepth.set({ category: 'kite.orders' }, 0);
  m.limiterWaitSeconds.observe({ category: 'kite.orders' }, 0.2);
  m.limiterThrottledTotal.inc({ category: 'kite.orders' });
  m.venue429Total.inc({ venue: 'kite' });
  m.killLevel.set({ scope: 'global' }, 0);
  m.actorRestartsTotal.inc({ actor: 'broker' });
  m.actorUp.set({ actor: 'broker' }, 1);
  m.eventLoopLagSeconds.set({ actor: 'broker' }, 0.004);
  m.deadLettersTotal.inc({ subject: 'orch.intent.mean_rev' });
  m.reconcileDifferences.set({ venue: 'kite' }, 0);
  m.reconcileRunsTotal.inc({ venue: 'kite', result: 'ok' });
  m.kiteTokenExpiryTimestampSeconds.set(1_767_000_000);
  m.strategyPnl.set({ strategy: 'mean_rev', kind: 'realized' }, -120.5);
  m.strategyPnl.set({ strategy: 'mean_rev', kind: 'unrealized' }, 30);
  m.strategyDrawdown.set({ strategy: 'mean_rev' }, 150.5);
  m.strategyDailyLossLimit.set({ strategy: 'mean_rev' }, 5000);
  m.strategyDrawdownLimit.set({ strategy: 'mean_rev' }, 3000);
}

test('catalogue is idempotent per registry and registers exactly the documented names', async () => {
  const r = new Registry();
  assert.equal(catalogue(r), catalogue(r));
  const names = (await r.getMetricsAsJSON()).map((m) => m.name).sort();
  assert.deepEqual(names, [...METRIC_NAMES].sort());
  assert.ok(names.every((n) => n.startsWith('orch_')));
});

test('every catalogue metric is listed in docs/metrics.md', () => {
  const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
  for (const n of METRIC_NAMES) assert.match(doc, new RegExp(`\`${n}[\`{]`), `${n} missing from docs/metrics.md`);
});

test('onCollect hooks run at scrape time and can be removed', async () => {
  const r = new Registry();
  const m = catalogue(r);
  let age = 3;
  const off = m.onCollect('orch_md_last_tick_age_seconds', () => m.mdLastTickAgeSeconds.set({ venue: 'kite' }, age));
  assert.match(await r.metrics(), /orch_md_last_tick_age_seconds\{venue="kite"\} 3\n/);
  age = 9;
  off();
  assert.match(await r.metrics(), /orch_md_last_tick_age_seconds\{venue="kite"\} 3\n/);
});

test('the exposition of every catalogue metric passes promtool check metrics', async () => {
  const r = new Registry();
  fill(r);
  const dir = mkdtempSync(join(tmpdir(), 'orch-metrics-'));
  try {
    const file = join(dir, 'metrics.txt');
    writeFileSync(file, await r.metrics());
    const res = spawnSync(PROMTOOL, ['check', 'metrics'], { input: readFileSync(file), encoding: 'utf8', timeout: 10_000 });
    assert.equal(res.error, undefined, `could not run ${PROMTOOL}: ${res.error?.message}`);
    const out = `${res.stdout}${res.stderr}`.trim();
    assert.equal(res.status, 0, `promtool check metrics failed:\n${out}`);
    assert.equal(out, '', `promtool complained:\n${out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
