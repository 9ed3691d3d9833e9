import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectBus } from '../../../actors/bus.ts';
import { systemClock } from '../../../actors/clock.ts';
import { KV_KILL, KV_LEASE, STREAM_EVENTS } from '../../../actors/subjects.ts';
import { EventLog, ensureEventStream, readEvents } from '../../../broker/event-log.ts';
import type { LogEvent } from '../../../broker/events/schema.ts';
import { KillStore } from '../../../broker/kill/kill-store.ts';
import { BrokerLease } from '../../../broker/lease.ts';
import { BROKER, writeNatsAuth } from '../../../supervisor/nats-auth.ts';
import { makeThrowawayCa } from '../../../supervisor/cluster-demo/throwaway-ca.ts';
import { startNatsCluster } from '../../../supervisor/cluster-demo/nats-cluster.ts';

const silent = pino({ level: 'silent' });

const intent = (n: number): LogEvent => ({
  kind: 'intent', strategyId: 'alpha', intentId: `alpha-${n}`, ts: 1_700_000_000_000 + n,
  intent: { action: 'place', intentId: `alpha-${n}`, strategyId: 'alpha', ts: 1_700_000_000_000 + n, venue: 'kite', symbol: 'NSE:INFY', side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: 150_000 },
});

test('the 3-node cluster of deploy/nats over TLS: the event log and the buckets have 3 copies, and killing the node that leads the log loses no event and stops no writer', async (t) => {
  const certs = await makeThrowawayCa();
  const stateDir = await mkdtemp(join(tmpdir(), 'orch-cluster-auth-'));
  // The same users and permissions as a single server, copied to every node.
  const auth = await writeNatsAuth({ stateDir, strategyIds: ['alpha'], env: {} });
  const broker = auth.credentials(BROKER);
  const cluster = await startNatsCluster({ certs, authorization: await readFile(auth.authFile, 'utf8'), user: broker });
  const open: NatsConnection[] = [];
  t.after(async () => {
    await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
    await cluster.cleanup();
    await rm(stateDir, { recursive: true, force: true });
    await rm(certs.dir, { recursive: true, force: true });
  });
  const connect = async (name: string, servers = cluster.urls) => {
    const nc = await connectBus({ servers, name, tlsCaFile: certs.caFile, ...broker });
    open.push(nc);
    return nc;
  };

  // A client that does not trust the cluster's CA gets no connection (every node requires TLS).
  await assert.rejects(connectBus({ servers: cluster.nodes[0]!.url, name: 'untrusting', timeoutMs: 3_000, ...broker }));

  const setup = await connect('setup');
  await ensureEventStream(setup, { replicas: 3, maxBytes: 64 * 1024 * 1024 });
  await KillStore.open(setup, { clock: systemClock, role: 'automation', replicas: 3 });
  await BrokerLease.open(setup, { clock: systemClock, log: silent, replicas: 3 });
  const jsm = await jetstreamManager(setup);
  for (const stream of [STREAM_EVENTS, `KV_${KV_KILL}`, `KV_${KV_LEASE}`]) {
    const info = await jsm.streams.info(stream);
    assert.equal(info.config.num_replicas, 3, `${stream} kept on every node`);
    assert.equal((info.cluster?.replicas ?? []).length, 2, `${stream}: a leader and two followers`);
  }

  // The writer sits on the node that leads the log: its death is the worst case for both.
  const leader = (await jsm.streams.info(STREAM_EVENTS)).cluster?.leader;
  assert.ok(leader);
  let writer: NatsConnection | undefined;
  for (let i = 0; i < 40 && !writer; i++) {
    const nc = await connect(`writer-${i}`);
    if (nc.info?.server_name === leader) writer = nc;
  }
  assert.ok(writer, `a connection landed on ${leader}`);
  const log = new EventLog(writer, silent);
  const before = 25;
  const after = 25;
  for (let i = 0; i < before; i++) await log.append(intent(i));

  await cluster.kill(leader);
  // Appends go on while the client moves to another node and the two left elect a new leader.
  const t0 = Date.now();
  await step('append after the kill', () => Promise.all(Array.from({ length: after }, (_, i) => log.append(intent(before + i)))));
  process.stdout.write(`# node loss: ${after} appends stored ${Date.now() - t0} ms after the kill\n`);
  assert.notEqual(writer.info?.server_name, leader, 'the writer reconnected to a surviving node');

  const reader = await step('connect a reader to the survivors', () => connect('reader', cluster.nodes.filter((n) => n.name !== leader).map((n) => n.url).join(',')));
  // Reading makes a consumer, which waits for the cluster's new leaders: a read timing out while
  // they are elected (seconds) is read again.
  const ids = await step('read the log', () => untilElected(async () => {
    const out: string[] = [];
    for await (const e of readEvents(reader)) out.push(e.event.intentId!);
    return out;
  }));
  assert.deepEqual(ids, Array.from({ length: before + after }, (_, i) => `alpha-${i}`), 'every acknowledged event, once, in order');
  // The kill level stays writable with one node down, once its bucket has a leader again (an
  // election takes seconds; a write during it times out and is retried by its writer).
  await leaderOutside(reader, `KV_${KV_KILL}`, leader);
  const kill = await step('open the kill bucket', () => KillStore.open(reader, { clock: systemClock, role: 'automation', replicas: 3 }));
  assert.equal((await step('raise the kill level', () => kill.raise(2, { kind: 'global' }, 'cluster test', 'test'))).changed, true);
});

async function untilElected<T>(f: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if ((e as Error).name !== 'TimeoutError' || Date.now() > deadline) throw e;
    }
  }
}

async function leaderOutside(nc: NatsConnection, stream: string, dead: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const info = await (await jetstreamManager(nc, { timeout: 1_000 })).streams.info(stream).catch(() => undefined);
    const now = info?.cluster?.leader;
    if (now && now !== dead) return;
    if (Date.now() > deadline) throw new Error(`${stream} has no leader among the surviving nodes`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Names the step a timeout came from. */
async function step<T>(name: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`, { cause: e });
  }
}
