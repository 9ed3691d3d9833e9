import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/specs.ts';
import { readEvents } from '../../../broker/event-log.ts';
import { intentTag } from '../../../broker/kite/tag.ts';
import { renderRegistry } from '../../support/registry.ts';
import { startHarness, probe, type Harness } from '../../support/kill-harness.ts';

/**
 * Each kill level's effect, end to end and in escalating order on one running system: two
 * strategies in real workers, each holding a position and resting two BUY orders at the
 * built-in exchange; the operator drives the level with the `orch kill/reset` command.
 */
let h: Harness;
const tagsOf = (strategyId: string) => new Set(h.sys.broker.book.all().filter((o) => o.strategyId === strategyId).map((o) => intentTag(o.intentId)));
const openOf = (strategyId: string) => { const tags = tagsOf(strategyId); return h.openAtExchange().filter((o) => o.tag && tags.has(o.tag)); };

before(async () => {
  h = await startHarness(renderRegistry([
    probe('alpha', 'NSE:INFY', { buyOnTick: 1, buyQty: 4, restOnTick: 1, restCount: 2 }),
    probe('beta', 'NSE:TCS', { buyOnTick: 1, buyQty: 3, restOnTick: 1, restCount: 2 }),
  ]));
  await eventually(() => h.sys.broker.position('alpha', 'NSE:INFY') === 4 && h.sys.broker.position('beta', 'NSE:TCS') === 3, 'both positions filled', 20_000);
  await eventually(() => openOf('alpha').length === 2 && openOf('beta').length === 2, 'two resting orders each at the exchange', 20_000);
});

after(async () => {
  await h?.close();
});

test('level 1 halts one strategy: its open orders are cancelled at the exchange, the other strategy trades on', async () => {
  const r = await h.cli('kill', ['1', '--strategy', 'alpha', '--reason', 'operator test']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /alpha is now 1 \(STRATEGY HALT\)/);
  await eventually(() => openOf('alpha').length === 0, "alpha's orders cancelled at the exchange");
  assert.equal(openOf('beta').length, 2, "beta's resting orders untouched");
  const denied = await h.intent('alpha', 'BUY', 1, 'NSE:INFY');
  assert.equal(denied.status, 'denied');
  assert.equal(denied.status === 'denied' && denied.rule, 'kill_level');
  const ok = await h.intent('beta', 'SELL', 1, 'NSE:TCS');
  assert.equal(ok.status, 'accepted', JSON.stringify(ok));
  await eventually(() => h.sys.broker.position('beta', 'NSE:TCS') === 2, "beta's sell filled");
  // The strategy itself was told, and said so.
  const rev = h.sys.killStore.current().strategies.alpha!.revision;
  await eventually(() => h.acks.some((a) => a.actorId === 'alpha' && a.revision === rev && a.level === 1), 'alpha acknowledges level 1');
});

test('level 2 lets only reducing orders through: a sell within the position passes, a buy is denied', async () => {
  assert.equal((await h.cli('reset', ['0', '--strategy', 'alpha', '--reason', 'cleared'])).code, 0);
  const r = await h.cli('kill', ['2', '--reason', 'reduce only test']);
  assert.equal(r.code, 0, r.err);
  const buy = await h.intent('alpha', 'BUY', 1, 'NSE:INFY');
  assert.equal(buy.status === 'denied' && buy.rule, 'kill_level');
  const tooBig = await h.intent('alpha', 'SELL', 5, 'NSE:INFY');
  assert.equal(tooBig.status === 'denied' && tooBig.rule, 'kill_level', 'a sell larger than the long position would open a short');
  const sell = await h.intent('alpha', 'SELL', 1, 'NSE:INFY');
  assert.equal(sell.status, 'accepted');
  await eventually(() => h.sys.broker.position('alpha', 'NSE:INFY') === 3, "alpha's reducing sell filled");
  assert.equal(openOf('beta').length, 2, 'reduce-only cancels nothing by itself');
});

test('level 3 cancels every open order at the exchange and every actor acknowledges it', async () => {
  const r = await h.cli('kill', ['3', '--reason', 'halt all test']);
  assert.equal(r.code, 0, r.err);
  await eventually(() => h.openAtExchange().length === 0, 'no open order left at the exchange');
  const denied = await h.intent('beta', 'SELL', 1, 'NSE:TCS');
  assert.equal(denied.status === 'denied' && denied.rule, 'kill_level', 'not even a reducing order at level 3');
  const rev = h.sys.killStore.current().global.revision;
  await eventually(() => ['alpha', 'beta'].every((id) => h.acks.some((a) => a.actorId === id && a.revision === rev && a.level === 3)), 'both actors acknowledge level 3');
});

test('level 4 closes every position at the exchange, stops every actor, and a reset does not revive this process', async () => {
  assert.notDeepEqual(await h.exchangePositions(), {}, 'positions held before the flatten');
  const r = await h.cli('kill', ['4', '--reason', 'flatten test']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /restart the orchestrator/);
  await eventually(async () => Object.keys(await h.exchangePositions()).length === 0, 'every position flat at the exchange', 20_000);
  await eventually(() => h.sys.supervisor.ids().every((id) => h.sys.supervisor.status(id) === 'stopped'), 'every strategy actor stopped');
  // Closing orders were booked to the strategies that held the positions.
  assert.equal(h.sys.broker.position('alpha', 'NSE:INFY'), 0);
  assert.equal(h.sys.broker.position('beta', 'NSE:TCS'), 0);
  const reset = await h.cli('reset', ['0', '--reason', 'all clear']);
  assert.equal(reset.code, 0, reset.err);
  const still = await h.intent('alpha', 'BUY', 1, 'NSE:INFY');
  assert.equal(still.status === 'denied' && still.rule, 'restart_required');
});

test('every change is in the event log with who made it, and the gauge shows the level per scope', async () => {
  await h.sys.killSwitch.controller.idle();
  const kills: { level: number; by: string; scope: string }[] = [];
  await eventually(async () => {
    kills.length = 0;
    for await (const e of readEvents(h.nc)) if (e.event.kind === 'kill') kills.push({ level: e.event.level, by: e.event.by, scope: e.event.scope.kind === 'global' ? 'global' : e.event.scope.strategyId });
    return kills.length >= 6;
  }, 'six kill events in the log');
  assert.deepEqual(kills.map((k) => `${k.scope}:${k.level}`), ['alpha:1', 'alpha:0', 'global:2', 'global:3', 'global:4', 'global:0']);
  assert.ok(kills.every((k) => k.by === 'operator:tester'));
  const { registry } = await import('../../../actors/metrics.ts');
  const gauge = (await registry.getSingleMetric('orch_kill_level')!.get()).values;
  assert.equal(gauge.find((v) => v.labels.scope === 'global')?.value, 0);
  assert.equal(gauge.find((v) => v.labels.scope === 'alpha')?.value, 0);
});
