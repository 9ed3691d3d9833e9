import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errors as natsErrors } from '@nats-io/transport-node';
import { z } from 'zod';
import { Kvm } from '@nats-io/kv';
import { connectBus, requestParsed } from '../../../actors/bus.ts';
import { systemClock } from '../../../actors/clock.ts';
import { KV_LEASE, subjects } from '../../../actors/subjects.ts';
import { BrokerLease } from '../../../broker/lease.ts';
import { FlattenReplySchema, FlattenRequestSchema } from '../../../broker/kill/flatten-wire.ts';
import { startSystem, type System } from '../../../supervisor/system.ts';
import { startNatsServer } from '../../support/nats-server.ts';
import { renderRegistry } from '../../support/registry.ts';
import { log, probe } from '../../support/kill-harness.ts';
import { eventually } from '../../support/specs.ts';

/**
 * A standby broker (`--role broker` waiting for the lease) does not take `orch flatten`: the
 * operator hears "no responders" at once, and the standby does not carry the request out when it
 * takes over later (the operator may have reset the level long before).
 */
test('a standby broker answers no orch flatten and, once it takes over, never carries out one sent while it waited', async (t) => {
  const server = await startNatsServer();
  const dir = await mkdtemp(join(tmpdir(), 'orch-flatten-standby-'));
  await writeFile(join(dir, 'strategies.yaml'), renderRegistry([probe('p1', 'NSE:INFY', {})]));
  const nc = await connectBus({ servers: server.url, name: 'flatten-standby-test' });
  // Another broker holds the lease and renews it.
  const other = await BrokerLease.open(nc, { clock: systemClock, log, ttlMs: 2_000, holder: 'the-active-broker' });
  await other.acquire();
  let sys: System | undefined;
  const starting = startSystem({ configFile: join(dir, 'strategies.yaml'), log, natsUrl: server.url, stateDir: dir, metricsPort: false, role: 'broker', leaseTtlMs: 2_000, hotReload: false, logLevel: 'silent' })
    .then((s) => (sys = s));
  t.after(async () => {
    await other.release();
    await starting.catch(() => undefined);
    await sys?.stop();
    await nc.close();
    await server.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  // While it waits (its kill switch already follows the level), every request finds no one.
  const until = Date.now() + 4_000;
  let sent = 0;
  while (Date.now() < until) {
    const r = requestParsed(nc, subjects.flattenRequest(), FlattenRequestSchema, { strategyId: 'p1', reason: 'sent to a standby', by: 'operator:test' }, FlattenReplySchema, 500);
    await assert.rejects(r, (e: unknown) => e instanceof natsErrors.RequestError && e.isNoResponders(), 'the standby does not take the request');
    sent++;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(sent > 5);
  assert.equal(sys, undefined, 'still standby');

  // The active broker stops cleanly: the standby takes the lease at once and arms.
  await other.release();
  await starting;
  await new Promise((res) => setTimeout(res, 1_500));
  assert.equal(sys!.killStore.current().strategies.p1, undefined, 'no flatten from a request the standby never answered');
  // The leader answers the operator and carries the flatten out: a broker whose strategies run
  // in other processes answers for the registry's strategies (it once said "not running").
  const reply = await requestParsed(nc, subjects.flattenRequest(), FlattenRequestSchema, { strategyId: 'p1', reason: 'sent to the leader', by: 'operator:test' }, FlattenReplySchema, 30_000);
  assert.equal(reply.ok, true, JSON.stringify(reply));
  assert.equal(sys!.killStore.current().strategies.p1?.level, 1, 'the strategy is halted');
});

test('a broker that loses its lease stops answering orch status and orch flatten, so only the lease holder is heard', async (t) => {
  const server = await startNatsServer();
  const dir = await mkdtemp(join(tmpdir(), 'orch-fenced-requests-'));
  await writeFile(join(dir, 'strategies.yaml'), renderRegistry([probe('p1', 'NSE:INFY', {})]));
  const nc = await connectBus({ servers: server.url, name: 'fenced-requests-test' });
  const sys = await startSystem({ configFile: join(dir, 'strategies.yaml'), log, natsUrl: server.url, stateDir: dir, metricsPort: false, role: 'broker', leaseTtlMs: 2_000, hotReload: false, logLevel: 'silent' });
  t.after(async () => {
    await sys.stop();
    await nc.close();
    await server.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  const status = () => requestParsed(nc, subjects.serviceEndpoint('broker', 'status'), z.unknown(), {}, z.unknown(), 2_000);
  await eventually(async () => status().then(() => true, () => false), 'orch status answered while it holds the lease', 10_000);
  // Another broker takes the lease (as a standby would after a freeze): this one fails its next renewal.
  const kv = await new Kvm(nc).open(KV_LEASE);
  await kv.put('broker', JSON.stringify({ holder: 'the-new-leader', host: 'elsewhere', pid: 1, ts: Date.now() }));
  await eventually(() => !sys.broker.serving(), 'the broker to learn it lost the lease', 10_000);
  const noResponders = (e: unknown) => e instanceof natsErrors.RequestError && e.isNoResponders();
  await eventually(async () => (await status().then(() => false, noResponders)), 'orch status to stop reaching the fenced broker', 10_000);
  await assert.rejects(requestParsed(nc, subjects.flattenRequest(), FlattenRequestSchema, { strategyId: 'p1', reason: 'sent to a fenced broker', by: 'operator:test' }, FlattenReplySchema, 1_000), noResponders);
});
