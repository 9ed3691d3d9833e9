import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { runFlatten } from '../../../supervisor/commands/flatten.ts';
import { runStatus } from '../../../supervisor/commands/status.ts';
import { alertExpr, evaluatesTo } from '../../support/promtool-eval.ts';
import { scrape } from '../../support/scrape.ts';
import { startHarness, probe, type Harness } from '../../support/kill-harness.ts';

/**
 * `orch flatten --strategy ID` against a running system: one strategy halted and closed, the
 * other untouched; a flatten that cannot finish says so (exit 3), in `orch status`, and in a
 * metric that makes OrchFlattenIncomplete fire.
 */
let h: Harness;

before(async () => {
  h = await startHarness(renderRegistry([
    probe('alpha', 'NSE:INFY', { buyOnTick: 1, buyQty: 6 }),
    probe('beta', 'NSE:TCS', { buyOnTick: 1, buyQty: 3 }),
  ], { flatten: { followMs: 800, maxReprices: 1 } }), { metricsPort: 0 });
  await eventually(() => h.sys.broker.position('alpha', 'NSE:INFY') === 6 && h.sys.broker.position('beta', 'NSE:TCS') === 3, 'both positions filled', 20_000);
});

after(async () => {
  await h?.close();
});

async function cli(run: typeof runFlatten, args: string[]) {
  let out = '';
  let err = '';
  const code = await run([...args, '--nats', h.server.url, '--state-dir', h.dir], {}, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

test('orch flatten needs a strategy and a reason', async () => {
  assert.equal((await cli(runFlatten, ['--reason', 'x'])).code, 2);
  const r = await cli(runFlatten, ['--strategy', 'alpha']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--reason is required/);
});

test('a flatten whose orders cannot fill reports the position left (exit 3), shows it in orch status and makes OrchFlattenIncomplete fire', async () => {
  const first = await scrape(h.sys.metricsUrl!);
  h.sys.sim!.faults.thinBook(0); // nothing fills within any band
  const r = await cli(runFlatten, ['--strategy', 'alpha', '--reason', 'operator test', '--operator', 'tester']);
  assert.equal(r.code, 3, r.err);
  assert.match(r.out, /NOT FLAT: kite NSE:INFY 6/);
  assert.equal(h.openAtExchange().length, 0, 'its last closing order was cancelled, none left resting');
  assert.equal(h.sys.killStore.current().strategies.alpha?.level, 1, 'alpha is halted');
  assert.equal(h.sys.killStore.current().strategies.alpha?.by, 'operator:tester');
  const status = await cli(runStatus as typeof runFlatten, []);
  assert.match(status.out, /Flatten: +NOT FLAT \(alpha, .*\): kite NSE:INFY 6/);
  const after = await scrape(h.sys.metricsUrl!);
  const fires = evaluatesTo(alertExpr('OrchFlattenIncomplete'), [first, after], [{ labels: '{venue="kite"}', value: 1 }]);
  assert.ok(fires.ok, fires.output);
});

test('orch flatten closes one strategy\'s positions, followed to flat, and leaves the other strategy trading', async () => {
  h.sys.sim!.faults.thinBook(undefined);
  const r = await cli(runFlatten, ['--strategy', 'alpha', '--reason', 'operator test']);
  assert.equal(r.code, 0, `${r.out}${r.err}`);
  assert.match(r.out, /alpha is flat/);
  assert.deepEqual(await h.exchangePositions(), { 'NSE:TCS': 3 }, 'only beta holds anything');
  assert.equal(h.sys.broker.position('alpha', 'NSE:INFY'), 0);
  assert.equal(h.sys.broker.position('beta', 'NSE:TCS'), 3);
  const denied = await h.intent('alpha', 'BUY', 1, 'NSE:INFY');
  assert.equal(denied.status === 'denied' && denied.rule, 'kill_level', 'alpha stays halted until reset');
  const ok = await h.intent('beta', 'SELL', 1, 'NSE:TCS');
  assert.equal(ok.status, 'accepted', JSON.stringify(ok));
  const { registry } = await import('../../../actors/metrics.ts');
  const unfinished = (await registry.getSingleMetric('orch_flatten_unfinished')!.get()).values.find((v) => v.labels.venue === 'kite');
  assert.equal(unfinished?.value, 0, 'the alert resolves');
});
