import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pino } from 'pino';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.ts';
import { eventually, repoRoot } from '../../support/specs.ts';
import { mkdir } from 'node:fs/promises';
import { startSystem, type System } from '../../../supervisor/system.ts';
import { startStrategiesProcess, type StrategiesProcess } from '../../../supervisor/strategies-process.ts';
import { METRIC_NAMES } from '../../../actors/metric-catalogue.ts';
import { namesInDeploy } from '../../support/promql-names.ts';
import { metricOf, scrape, type Sample } from '../../support/scrape.ts';

/**
 * The system as `npm start` runs it (the example registry, both built-in exchanges; the broker's
 * process and the permission-restricted strategies process, each with its /metrics, both of
 * which deploy/prometheus/prometheus.yml scrapes as job orch) serves a series for every metric
 * an alert rule or a dashboard panel reads: an alert over a metric that never exists can never
 * fire, and a panel over one shows "no data" instead of 0.
 */
let server: NatsServerHandle;
let sys: System;
let strategies: StrategiesProcess;
let strategiesMetricsUrl: string;
let registryFile: string;
let registryText: string;

/** Both endpoints' samples, as Prometheus has them from the two targets. */
const scrapeBoth = async (): Promise<Sample[]> => [...(await scrape(sys.metricsUrl!)), ...(await scrape(strategiesMetricsUrl))];

before(async () => {
  server = await startNatsServer();
  const dir = await mkdtemp(join(tmpdir(), 'orch-coverage-'));
  // The example registry, its module paths made absolute so it can live in the temp dir.
  const example = join(repoRoot, 'config', 'strategies.yaml');
  registryText = (await readFile(example, 'utf8')).replace(/module: (\S+)/g, (_, p: string) => `module: ${resolve(dirname(example), p)}`);
  await mkdir(join(dir, 'config'));
  registryFile = join(dir, 'config', 'strategies.yaml');
  await writeFile(registryFile, registryText);
  const stateDir = join(dir, 'state');
  const log = pino({ level: 'silent' });
  sys = await startSystem({ configFile: registryFile, log, natsUrl: server.url, stateDir, metricsPort: 0, simTickIntervalMs: 200, logLevel: 'silent', hotReload: false, role: 'broker' });
  // Its registry watch applies the reload test's edit, as `orch reload` would.
  strategies = await startStrategiesProcess({ configFile: registryFile, natsUrl: server.url, log, logFormat: 'json', logLevel: 'silent', metricsPort: 0, metricsHost: '127.0.0.1', secrets: [stateDir] });
  await strategies.running;
  strategiesMetricsUrl = strategies.metricsUrl()!;
});

after(async () => {
  await strategies?.stop();
  await sys?.stop();
  await server?.cleanup();
});

const names = (samples: Sample[]) => new Set(samples.map((s) => metricOf(s, METRIC_NAMES)));

test('every metric the alert rules and the dashboard read has a series on the running system', async () => {
  // Ticks from both venues, so the system is past its start.
  await eventually(async () => {
    const ticking = (await scrape(sys.metricsUrl!)).filter((s) => s.name === 'orch_ticks_total' && Number(s.value) > 0);
    return ticking.length === 2;
  }, 'ticks from both exchanges', 30_000);
  const have = names(await scrapeBoth());
  const missing = namesInDeploy().filter((n) => !have.has(n));
  assert.deepEqual(missing, [], `named in deploy/ but without a series: ${missing.join(', ')}`);
  // The strategies' own series come from the strategies process (OrchStrategyGaveUp reads orch_actor_up there).
  const own = await scrape(strategiesMetricsUrl);
  for (const id of ['momentum-infy', 'meanrev-reliance', 'kalshi-quoter']) {
    assert.equal(own.find((s) => s.series === `orch_actor_up{actor="${id}"}`)?.value, '1', `${id} is up on the strategies process's /metrics`);
  }
});

test('counters whose labels the system knows start at 0, and the risk gauges are exported per strategy', async () => {
  const samples = await scrape(sys.metricsUrl!);
  const value = (series: string) => samples.find((s) => s.series === series)?.value;
  assert.equal(value('orch_venue_429_total{venue="kalshi"}'), '0');
  assert.equal(value('orch_intents_denied_total{strategy="meanrev-reliance",rule="kill_level"}'), '0');
  assert.equal(value('orch_actor_gave_up_total{actor="kalshi-quoter"}'), '0');
  assert.equal(value('orch_limiter_throttled_total{category="kite.orders"}'), '0');
  // The registry's limits in rupees (paise / 100): dailyLoss 500000, maxDrawdown 750000.
  assert.equal(value('orch_strategy_daily_loss_limit{strategy="momentum-infy"}'), '5000');
  assert.equal(value('orch_strategy_drawdown_limit{strategy="momentum-infy"}'), '7500');
  for (const id of ['momentum-infy', 'meanrev-reliance', 'kalshi-quoter']) {
    for (const kind of ['realized', 'unrealized']) assert.ok(value(`orch_strategy_pnl{strategy="${id}",kind="${kind}"}`) !== undefined, `${id} ${kind} P&L`);
    assert.ok(Number(value(`orch_strategy_drawdown{strategy="${id}"}`)) >= 0, `${id} drawdown`);
  }
  for (const venue of ['kite', 'kalshi']) {
    const age = Number(value(`orch_md_last_tick_age_seconds{venue="${venue}"}`));
    assert.ok(age >= 0 && age < 30, `${venue} tick age ${age}`);
  }
});

test('a strategy removed by a reload takes its series with it; the others keep theirs', async () => {
  const without = registryText.replace(/\n  - id: meanrev-reliance\n[\s\S]*?(?=\n  # Kalshi)/, '\n');
  assert.ok(!without.includes('meanrev-reliance'), 'the edit removes the strategy');
  await writeFile(registryFile, without);
  const r = await sys.reloader.reload();
  assert.equal(r.result, 'applied');
  // The strategies process applies the same edit from its own watch of the registry.
  await eventually(async () => {
    const left = (await scrapeBoth()).filter((s) => Object.values(s.labels).some((v) => v === 'meanrev-reliance' || v === 'orch.intent.meanrev-reliance'));
    return left.length === 0 || undefined;
  }, 'no series naming the removed strategy', 20_000).catch(async () => {
    const left = (await scrapeBoth()).filter((s) => s.series.includes('meanrev-reliance')).map((s) => s.series);
    assert.fail(`series left for the removed strategy: ${left.join(', ')}`);
  });
  assert.ok((await scrape(strategiesMetricsUrl)).some((s) => s.series === 'orch_actor_up{actor="momentum-infy"}'), 'the kept strategy still reports from its process');
  const samples = await scrape(sys.metricsUrl!);
  assert.ok(samples.some((s) => s.series === 'orch_strategy_pnl{strategy="momentum-infy",kind="realized"}'), 'the kept strategy still reports');
  assert.ok(samples.some((s) => s.series === 'orch_intents_denied_total{strategy="momentum-infy",rule="kill_level"}'));
});
