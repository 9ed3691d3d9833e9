import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, fixture } from '../../support/specs.ts';
import { readEvents } from '../../../broker/event-log.ts';
import { renderRegistry } from '../../support/registry.ts';
import { startHarness, type Harness } from '../../support/kill-harness.ts';

/**
 * A kill must not wait for a strategy to finish what it is doing. The strategy here is in a
 * CPU loop in its worker thread when level 3 is raised: its kill gate (shared memory, closed
 * by the supervisor: actors/kill-gate.ts) is acknowledged while the loop still runs, and the
 * order it places once the loop ends is refused in the worker, never reaching the broker.
 */
let h: Harness | undefined;
after(async () => { await h?.close(); });

test('a strategy busy in a CPU loop is halted at once: acknowledged during the loop, and its next order never leaves the worker', async () => {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'orch-busy-'));
  h = await startHarness(renderRegistry([{
    id: 'busy', module: fixture('busy-placer'), venue: 'kite', instruments: ['NSE:INFY'], params: { dir },
    risk: { maxOrderQty: 10, maxOrderValue: 100000000, maxPosition: 20, maxOpenOrders: 5, priceBandBps: 1000, ordersPerMinute: 600 },
  }]));
  await eventually(() => existsSync(join(dir, 'spinning')), 'the strategy spinning in its first tick', 20_000);
  const r = await h.cli('kill', ['3', '--reason', 'busy strategy test']);
  assert.equal(r.code, 0, r.err);
  const rev = h.sys.killStore.current().global.revision;
  // The worker is still in its loop: only the gate can have answered.
  await eventually(() => h!.acks.some((a) => a.actorId === 'busy' && a.level === 3 && a.via === 'gate' && a.revision === rev), 'the gate acknowledges level 3 for the busy strategy');
  assert.ok(!h.acks.some((a) => a.actorId === 'busy' && a.via !== 'gate'), 'the busy worker itself has acknowledged nothing yet');
  writeFileSync(join(dir, 'release'), '');
  await eventually(() => existsSync(join(dir, 'reply.json')), 'the strategy placing after its loop', 20_000);
  const reply = JSON.parse(readFileSync(join(dir, 'reply.json'), 'utf8')) as { status: string; rule?: string };
  assert.equal(reply.status, 'denied');
  assert.equal(reply.rule, 'kill_level');
  let intents = 0;
  for await (const e of readEvents(h.nc)) if (e.event.kind === 'intent' && e.event.strategyId === 'busy') intents++;
  assert.equal(intents, 0, 'no intent of the halted strategy reached the broker');
  assert.equal(h.sys.sim!.orders().length, 0, 'nothing at the exchange');
});
