import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypedEmitter } from './emitter.ts';

type Events = { fill: [id: string, qty: number]; down: [] };

test('a throwing listener is reported and the listeners after it still get the event', () => {
  const errors: [string, unknown][] = [];
  const e = new TypedEmitter<Events>((event, err) => errors.push([event, err]));
  const got: string[] = [];
  e.on('fill', (id) => got.push(`first ${id}`));
  e.on('fill', () => {
    throw new Error('strategy bug');
  });
  e.on('fill', (id, qty) => got.push(`last ${id} ${qty}`));
  assert.doesNotThrow(() => e.emit('fill', 'o1', 5));
  assert.deepEqual(got, ['first o1', 'last o1 5'], 'no fill is lost to a bad listener');
  assert.equal(errors.length, 1);
  assert.equal(errors[0]![0], 'fill');
  assert.match((errors[0]![1] as Error).message, /strategy bug/);
  e.emit('fill', 'o2', 1);
  assert.deepEqual(got.slice(2), ['first o2', 'last o2 1'], 'the emitter keeps working after a throw');
});

test('without an error handler a throwing listener is swallowed, never thrown into the emitter', () => {
  const e = new TypedEmitter<Events>();
  e.on('down', () => {
    throw new Error('x');
  });
  assert.doesNotThrow(() => e.emit('down'));
});

test('on returns its own removal; off removes; once resolves with the next emission', async () => {
  const e = new TypedEmitter<Events>();
  const seen: string[] = [];
  const off = e.on('fill', (id) => seen.push(id));
  const fn = (id: string) => seen.push(`b${id}`);
  e.on('fill', fn);
  assert.equal(e.listenerCount('fill'), 2);
  e.emit('fill', '1', 1);
  off();
  e.off('fill', fn);
  e.emit('fill', '2', 1);
  assert.deepEqual(seen, ['1', 'b1']);
  assert.equal(e.listenerCount('fill'), 0);
  const next = e.once('fill');
  e.emit('fill', '3', 7);
  assert.deepEqual(await next, ['3', 7]);
  assert.equal(e.listenerCount('fill'), 0);
});

test('a listener added or removed during an emission does not change who gets that emission', () => {
  const e = new TypedEmitter<Events>();
  const seen: string[] = [];
  const late = () => seen.push('late');
  e.on('down', () => {
    seen.push('first');
    e.on('down', late);
  });
  e.emit('down');
  assert.deepEqual(seen, ['first']);
});
