import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { startHarness, probe, tripped } from '../../support/kill-harness.ts';
import { subscribeParsed } from '../../../actors/bus.ts';
import { subjects } from '../../../actors/subjects.ts';
import { TickSchema } from '../../../actors/messages.ts';

/**
 * Global automated triggers from scenarios at the built-in exchange: a market-data socket that
 * stays down, and one that stays silent. Each latches level 3 (HALT ALL) and the kill switch
 * cancels every open order over REST, which still works.
 */
test('a market-data socket refused longer than maxDisconnectedMs halts everything and cancels every open order', async () => {
  const h = await startHarness(renderRegistry([probe('rester', 'NSE:INFY', { restOnTick: 1, restCount: 2 })], { killTriggers: { maxDisconnectedMs: 1500 } }));
  try {
    await eventually(() => h.openAtExchange().length === 2, 'two resting orders at the exchange');
    h.sys.sim!.faults.refuseSockets(true);
    h.sys.sim!.faults.dropSockets();
    const { entry } = await tripped(h, 'global', 'broker_disconnected');
    assert.equal(entry.level, 3);
    assert.equal(entry.figures?.limit, 1500);
    assert.ok(Number(entry.figures?.actual) >= 1500);
    await eventually(() => h.openAtExchange().length === 0, 'every open order cancelled');
    const rev = entry.revision;
    await eventually(() => h.acks.some((a) => a.actorId === 'rester' && a.revision === rev && a.level === 3), 'the actor acknowledges');
    h.sys.sim!.faults.refuseSockets(false);
  } finally {
    await h.close();
  }
});

test('market data going silent past staleDataMs halts everything; after an operator reset the trigger is armed again', async () => {
  const h = await startHarness(renderRegistry([probe('watcher', 'NSE:INFY', {})], { killTriggers: { staleDataMs: 1000 } }));
  try {
    const ticks: number[] = [];
    subscribeParsed(h.nc, subjects.marketData('kite', 'NSE:INFY'), TickSchema, (t) => void ticks.push(t.seq));
    await eventually(() => ticks.length > 2, 'ticks flowing');
    h.sys.sim!.faults.stallSockets(2_500);
    const first = await tripped(h, 'global', 'stale_data');
    assert.equal(first.entry.level, 3);
    assert.equal(first.entry.figures?.limit, 1000);
    // Reset only once the feed is back: a reset while it is still silent trips again at once.
    const seen = ticks.length;
    await eventually(() => ticks.length > seen + 2, 'ticks flowing again');
    const reset = await h.cli('reset', ['0', '--reason', 'feed back']);
    assert.equal(reset.code, 0, reset.err);
    await eventually(() => h.sys.killStore.current().global.level === 0, 'the reset seen by the broker');
    await h.sys.killSwitch.controller.idle();
    h.sys.sim!.faults.stallSockets(2_500);
    const second = await eventually(() => {
      const g = h.sys.killStore.current().global;
      return g.level === 3 && g.by === 'automation:stale_data' && g.revision > first.entry.revision ? g : undefined;
    }, 'a second stale-data trip after the reset', 15_000);
    assert.equal(second.level, 3);
  } finally {
    await h.close();
  }
});
