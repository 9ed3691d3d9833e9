import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.ts';
import { eventually } from '../../support/specs.ts';
import { connectBus } from '../../../actors/bus.ts';
import { TestClock } from '../../../actors/clock.ts';
import { BrokerLease } from '../../../broker/lease.ts';

let server: NatsServerHandle;
let nc: NatsConnection;
const log = pino({ level: 'silent' });

before(async () => {
  server = await startNatsServer();
  nc = await connectBus({ servers: server.url, name: 'lease-test' });
});
after(async () => {
  await nc.close();
  await server.cleanup();
});

/** Moves a TestClock in steps, letting real KV round trips finish between them. */
async function run(clock: TestClock, ms: number, step = 250): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advance(step);
    await new Promise((r) => setTimeout(r, 15));
  }
}

test('a second broker waits as standby while the first renews, and takes over only after the lease lapses', async () => {
  const bucket = 'lease_t1';
  const clockA = new TestClock();
  const clockB = new TestClock();
  const a = await BrokerLease.open(nc, { clock: clockA, log, ttlMs: 3_000, bucket, holder: 'A' });
  const b = await BrokerLease.open(nc, { clock: clockB, log, ttlMs: 3_000, bucket, holder: 'B' });
  await a.acquire();
  let bHolds = false;
  void b.acquire().then(() => { bHolds = true; });
  const lost: string[] = [];
  a.onLost((r) => lost.push(r));

  // Both clocks run: A renews every second, so B sees the revision move and never takes over.
  for (let i = 0; i < 30; i++) {
    await clockA.advance(250);
    await clockB.advance(250);
    await new Promise((r) => setTimeout(r, 15));
  }
  assert.equal(bHolds, false, 'the standby must not take a lease that is being renewed');
  assert.equal(a.held(), true);

  // A stops renewing (its process hangs or dies): after the TTL of B's own clock, B takes over.
  await run(clockB, 1_750); // < TTL minus one poll: B's last sighting of a new revision is at most one poll old
  assert.equal(bHolds, false, 'not before the lease has stood still for the whole TTL');
  await run(clockB, 2_750);
  await eventually(() => bHolds, 'the standby to take the lapsed lease');
  assert.equal(b.held(), true);

  // The old holder wakes up, fails its compare-and-set, and fences itself.
  await run(clockA, 1_500);
  await eventually(() => lost.length > 0, 'the old holder to learn it lost the lease');
  assert.equal(a.held(), false);
  assert.match(lost[0]!, /another broker took the lease/);
  await b.release();
});

test('each holder\'s epoch is above its predecessor\'s, even when its own clock is behind, and renewals keep it', async () => {
  const bucket = 'lease_epoch';
  const clockA = new TestClock(Date.parse('2026-12-03T10:00:00Z'));
  // B's host clock runs a minute behind A's: its epoch must still follow A's.
  const clockB = new TestClock(Date.parse('2026-12-03T09:59:00Z'));
  const a = await BrokerLease.open(nc, { clock: clockA, log, ttlMs: 3_000, bucket, holder: 'A' });
  const b = await BrokerLease.open(nc, { clock: clockB, log, ttlMs: 3_000, bucket, holder: 'B' });
  assert.equal(a.epoch, 0, 'no epoch before the lease is held');
  await a.acquire();
  const first = a.epoch;
  assert.equal(first, Date.parse('2026-12-03T10:00:00Z') / 1000);
  await run(clockA, 2_000);
  assert.equal(a.epoch, first, 'renewals keep the epoch');
  let bHolds = false;
  void b.acquire().then(() => { bHolds = true; });
  await run(clockB, 4_500);
  await eventually(() => bHolds, 'the standby to take the lapsed lease');
  assert.equal(b.epoch, first + 1, 'the successor follows its predecessor although its clock is behind');
  await b.release();
  await a.release();
});

test('a clean shutdown releases the lease so a successor need not wait', async () => {
  const bucket = 'lease_t2';
  const clock = new TestClock();
  const a = await BrokerLease.open(nc, { clock, log, ttlMs: 60_000, bucket, holder: 'A' });
  await a.acquire();
  await a.release();
  const b = await BrokerLease.open(nc, { clock, log, ttlMs: 60_000, bucket, holder: 'B' });
  await b.acquire();
  assert.equal(b.held(), true);
  await b.release();
});

test('a holder frozen past its safe window cannot vouch for the lease by its own clock, before any renewal has run', async () => {
  const clock = new TestClock();
  const a = await BrokerLease.open(nc, { clock, log, ttlMs: 3_000, bucket: 'lease_t3', holder: 'A' });
  assert.match(a.whyNotSafe() ?? '', /not held/);
  await a.acquire();
  assert.equal(a.whyNotSafe(), undefined);
  // Woken after a freeze: time moved on, and no renewal timer has fired yet.
  clock.set(clock.now() + 2_000);
  assert.match(a.whyNotSafe() ?? '', /no lease renewal for 2000 ms/);
  // Once a renewal is stored again (no one took over), it vouches again.
  await run(clock, 500, 100);
  await eventually(() => a.whyNotSafe() === undefined, 'a renewal to be stored');
  await a.release();
});
