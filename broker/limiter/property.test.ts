import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { TestClock } from '../../actors/clock.ts';
import { SharedLimiter } from './shared-limiter.ts';
import { PRIORITIES, type Priority } from './types.ts';
import type { WindowSpec } from './window-log.ts';
import { maxInAnyWindow, rng } from '../../test/support/limiter-venue-model.ts';

type Pending = { id: number; rank: number; milli: number; ac: AbortController };

const flush = () => new Promise<void>((r) => setImmediate(r));

/**
 * One random scenario: random windows, arrivals, priorities, costs, aborts and 429 pauses.
 * Checks, for every grant: no window over its limit, nothing during a pause, nothing granted
 * while a higher-priority or earlier same-priority call waits; and at the end, everything
 * not aborted was granted and no timer is left.
 */
async function scenario(seed: number): Promise<void> {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const windows: WindowSpec[] = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({
    limit: pick([1, 2, 3, 5, 10, 2.5]),
    windowMs: pick([100, 250, 1000, 3000]),
  }));
  const minLimit = Math.min(...windows.map((w) => w.limit));
  const clock = new TestClock(1_767_000_000_000 + Math.floor(random() * 1000));
  const limiter = new SharedLimiter({ clock, limits: { c: { windows } }, registry: new Registry() });
  const ctx = `seed ${seed} windows ${JSON.stringify(windows)}`;

  const pending = new Map<number, Pending>();
  const grants: { at: number; milli: number }[] = [];
  const pauses: { from: number; until: number }[] = [];
  const settled: Promise<unknown>[] = [];
  let aborted = 0;

  const onGrant = (w: Pending) => {
    const now = clock.now();
    for (const v of pending.values()) {
      if (v === w) continue;
      assert.ok(v.rank >= w.rank, `${ctx}: #${w.id} (${PRIORITIES[w.rank]}) granted while #${v.id} (${PRIORITIES[v.rank]}) waits`);
      assert.ok(!(v.rank === w.rank && v.id < w.id), `${ctx}: #${w.id} overtook #${v.id} at the same priority`);
    }
    for (const p of pauses) assert.ok(now < p.from || now >= p.until, `${ctx}: grant at ${now} inside pause ${JSON.stringify(p)}`);
    pending.delete(w.id);
    grants.push({ at: now, milli: w.milli });
  };

  for (let id = 0; id < 250; id++) {
    const r = random();
    if (r < 0.55) {
      const priority: Priority = pick(PRIORITIES);
      const cost = Math.min(minLimit, pick([0.2, 0.5, 1, 1, 1, 2]));
      const w: Pending = { id, rank: PRIORITIES.indexOf(priority), milli: Math.round(cost * 1000), ac: new AbortController() };
      pending.set(id, w);
      settled.push(limiter.acquire('c', { priority, cost, signal: w.ac.signal }).then(() => onGrant(w), () => {}));
    } else if (r < 0.62 && pending.size > 0) {
      const victim = pick([...pending.values()]);
      pending.delete(victim.id); // removed synchronously by the limiter too
      victim.ac.abort();
      aborted++;
    } else if (r < 0.65) {
      const from = clock.now();
      const until = from + Math.floor(random() * 2000);
      limiter.pauseUntil('c', until);
      pauses.push({ from, until });
    } else {
      await clock.advance(Math.floor(random() * 300));
    }
    await flush(); // let immediate grants record themselves before the next action
  }
  await clock.advance(10 * 60_000);
  await Promise.all(settled);

  for (const w of windows) {
    assert.ok(maxInAnyWindow(grants, w.windowMs) <= Math.round(w.limit * 1000), `${ctx}: window ${w.windowMs} over its limit`);
  }
  assert.equal(pending.size, 0, `${ctx}: ${pending.size} calls never granted`);
  assert.equal(limiter.snapshot()[0]!.queueDepth, 0, ctx);
  assert.equal(clock.pending(), 0, `${ctx}: a timer was left behind`);
  assert.ok(grants.length + aborted > 0, ctx);
  limiter.close();
}

test('randomized: windows, priority, FIFO, pauses and aborts hold for every grant', async (t) => {
  const seed = Number(process.env.LIMITER_SEED ?? Date.now() % 2 ** 31);
  const runs = Number(process.env.LIMITER_RUNS ?? 40);
  t.diagnostic(`seed ${seed} (replay with LIMITER_SEED=${seed}), ${runs} runs`);
  console.log(`# limiter property seed ${seed}`);
  for (let i = 0; i < runs; i++) await scenario(seed + i);
});
