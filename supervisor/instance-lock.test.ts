import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireInstanceLock, InstanceLockedError, lockFile, PortInUseError, probePort } from './instance-lock.ts';

const dir = () => mkdtemp(join(tmpdir(), 'orch-lock-'));

test('a second lock on the same state directory is refused, naming the holder and since when; released, it can be taken again', async () => {
  const d = await dir();
  const first = await acquireInstanceLock(d, { pid: 1111, now: () => new Date('2026-12-03T09:00:00Z'), isAlive: () => true });
  await assert.rejects(acquireInstanceLock(d, { pid: 2222, isAlive: () => true }), (e: unknown) => {
    assert.ok(e instanceof InstanceLockedError);
    assert.equal(e.owner.pid, 1111);
    assert.match(e.message, /pid 1111, running since 2026-12-03T09:00:00.000Z/);
    return true;
  });
  assert.match(await readFile(lockFile(d), 'utf8'), /"pid":1111/, 'the holder keeps its lock');
  await first.release();
  const again = await acquireInstanceLock(d, { pid: 2222, isAlive: () => true });
  assert.equal(again.owner.pid, 2222);
});

test('a lock left by a dead process is taken over; an unreadable one too', async () => {
  const d = await dir();
  await writeFile(lockFile(d), JSON.stringify({ pid: 3333, startedAt: '2026-12-02T09:00:00.000Z' }));
  const taken = await acquireInstanceLock(d, { pid: 4444, isAlive: (pid) => pid !== 3333 });
  assert.equal(JSON.parse(await readFile(lockFile(d), 'utf8')).pid, 4444);
  await taken.release();
  await writeFile(lockFile(d), 'not json');
  assert.equal((await acquireInstanceLock(d, { pid: 5555, isAlive: () => true })).owner.pid, 5555);
});

test('of many starters at once exactly one gets the lock', async () => {
  const d = await dir();
  const tries = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => acquireInstanceLock(d, { pid: 6000 + i, isAlive: () => true })));
  assert.equal(tries.filter((t) => t.status === 'fulfilled').length, 1);
  assert.ok(tries.filter((t) => t.status === 'rejected').every((t) => (t as PromiseRejectedResult).reason instanceof InstanceLockedError));
});

test('a port in use is reported by number and role before anything binds it', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  try {
    await assert.rejects(probePort(port, '--metrics-port'), (e: unknown) => e instanceof PortInUseError && e.port === port && e.key === '--metrics-port' && /port \d+ on 127\.0\.0\.1 \(--metrics-port\) is already in use/.test(e.message));
  } finally {
    srv.close();
  }
  await probePort(port, '--metrics-port'); // free again
});
