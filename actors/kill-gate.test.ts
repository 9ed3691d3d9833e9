import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { KillGate } from './kill-gate.ts';

const G = { kind: 'global' } as const;
const own = { kind: 'strategy', strategyId: 's1' } as const;
const other = { kind: 'strategy', strategyId: 's2' } as const;

test('the gate blocks places and modifies exactly at the levels that forbid all of them: 1, 3 and 4', () => {
  const expect: Record<number, boolean> = { 0: false, 1: true, 2: false, 3: true, 4: true };
  for (const level of [0, 1, 2, 3, 4] as const) {
    const g = new KillGate();
    g.apply({ level, scope: G, revision: 1 }, 's1');
    assert.equal(g.blocksNewOrders(), expect[level], `global level ${level}`);
  }
});

test('the higher scope wins: an own 0 does not lift a global 3, a global 0 does not lift an own 1', () => {
  const g = new KillGate();
  g.apply({ level: 3, scope: G, revision: 1 }, 's1');
  g.apply({ level: 0, scope: own, revision: 2 }, 's1');
  assert.equal(g.blocksNewOrders(), true);
  g.apply({ level: 0, scope: G, revision: 3 }, 's1');
  assert.equal(g.blocksNewOrders(), false);
  g.apply({ level: 1, scope: own, revision: 4 }, 's1');
  g.apply({ level: 0, scope: G, revision: 5 }, 's1');
  assert.equal(g.level(), 1);
  assert.equal(g.blocksNewOrders(), true);
});

test("another strategy's scope is not this one's business", () => {
  const g = new KillGate();
  assert.equal(g.apply({ level: 1, scope: other, revision: 1 }, 's1'), false);
  assert.equal(g.blocksNewOrders(), false);
});

test('a provisional raise only raises; the stored outcome sets the level; an older stored message is ignored', () => {
  const g = new KillGate();
  g.seed(0, 0, 10);
  assert.equal(g.apply({ level: 3, scope: G, revision: 10, provisional: true }, 's1'), true);
  assert.equal(g.blocksNewOrders(), true);
  assert.equal(g.apply({ level: 2, scope: G, revision: 10, provisional: true }, 's1'), false, 'a provisional message never lowers');
  assert.equal(g.level(), 3);
  assert.equal(g.apply({ level: 0, scope: G, revision: 9 }, 's1'), false, 'older than what the gate holds');
  assert.equal(g.level(), 3);
  g.apply({ level: 3, scope: G, revision: 11 }, 's1');
  g.apply({ level: 0, scope: G, revision: 12 }, 's1');
  assert.equal(g.blocksNewOrders(), false);
});

test('a worker stuck in a synchronous loop sees the gate close without yielding to its event loop', async () => {
  const g = new KillGate();
  // The worker spins on the gate and never awaits; only shared memory can reach it.
  const src = `
    const { workerData, parentPort } = require('node:worker_threads');
    const cells = new Int32Array(workerData);
    parentPort.postMessage('spinning');
    const end = Date.now() + 20000;
    while (Math.max(Atomics.load(cells, 0), Atomics.load(cells, 2)) < 3 && Date.now() < end) {}
    parentPort.postMessage(Math.max(Atomics.load(cells, 0), Atomics.load(cells, 2)));`;
  const w = new Worker(src, { eval: true, workerData: g.buffer });
  const seen = await new Promise<unknown>((resolve, reject) => {
    w.on('error', reject);
    w.on('message', (m) => {
      if (m === 'spinning') g.apply({ level: 3, scope: G, revision: 1 }, 's1');
      else resolve(m);
    });
  });
  await w.terminate();
  assert.equal(seen, 3);
});
