import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InlineQueue } from './serial-queue.ts';

test('InlineQueue runs synchronous jobs at once, in order, with the jobs they queue; nothing until run', () => {
  const seen: string[] = [];
  const errors: unknown[] = [];
  const q = new InlineQueue((e) => errors.push(e));
  q.push(() => { seen.push('a'); q.push(() => void seen.push('c')); });
  q.push(() => void seen.push('b'));
  assert.deepEqual(seen, []);
  assert.equal(q.busy, true);
  assert.equal(q.run(), undefined, 'no promise when every job was synchronous');
  assert.deepEqual(seen, ['a', 'b', 'c']);
  assert.equal(q.busy, false);
});

test('InlineQueue: an asynchronous job holds the jobs behind it until it settles; a job that throws is reported and the next runs', async () => {
  const seen: string[] = [];
  const errors: string[] = [];
  const q = new InlineQueue((e) => errors.push((e as Error).message));
  let release!: () => void;
  q.push(() => new Promise<void>((r) => { release = () => { seen.push('slow'); r(); }; }));
  q.push(() => { throw new Error('boom'); });
  q.push(() => void seen.push('after'));
  const p = q.run();
  assert.ok(p, 'a promise once a job returned one');
  assert.equal(q.run(), p, 'running again while it waits is the same wait');
  await Promise.resolve();
  assert.equal(seen.length, 0, 'held behind the pending job');
  release();
  await p;
  assert.deepEqual(seen, ['slow', 'after']);
  assert.deepEqual(errors, ['boom']);
  q.push(() => Promise.reject(new Error('late')));
  q.push(() => void seen.push('last'));
  await q.drain();
  assert.deepEqual(errors, ['boom', 'late']);
  assert.deepEqual(seen, ['slow', 'after', 'last']);
});

test('InlineQueue: closed (its strategy crashed), it drops what is queued and what comes later', () => {
  const seen: string[] = [];
  const q = new InlineQueue(() => {});
  q.push(() => void seen.push('a'));
  q.close();
  q.push(() => void seen.push('b'));
  assert.equal(q.busy, false);
  q.run();
  assert.deepEqual(seen, []);
});
