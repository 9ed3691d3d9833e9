import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, PermissionViolationError, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Registry } from 'prom-client';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.ts';
import { TestClock } from '../../../actors/clock.ts';
import { KV_KILL, STREAM_EVENTS, inboxPrefix, subjects } from '../../../actors/subjects.ts';
import { encodeJson } from '../../../actors/bus.ts';
import { KillMessageSchema, type KillMessage } from '../../../actors/messages.ts';
import { KillStore } from '../../../broker/kill/kill-store.ts';
import { BROKER, OPERATOR, SUPERVISOR, strategyRole, writeNatsAuth, type NatsAuth, type Role } from '../../../supervisor/nats-auth.ts';
import { eventually } from '../../support/wait.ts';

let dir: string;
let auth: NatsAuth;
let server: NatsServerHandle;
let broker: NatsConnection;
let brokerStore: KillStore;
const conns: NatsConnection[] = [];

type Seen = { operation: string; subject: string };
/**
 * Connects as a role, with its own inbox prefix as the system's connections use it
 * (actors/bus.ts), and records every permissions violation the server reports to it.
 */
async function as(role: Role, o: { ownInbox?: boolean } = {}): Promise<{ nc: NatsConnection; violations: Seen[] }> {
  const { user, pass } = auth.credentials(role);
  const nc = await connect({ servers: server.url, user, pass, ...(o.ownInbox === false ? {} : { inboxPrefix: inboxPrefix(user) }) });
  conns.push(nc);
  const violations: Seen[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error' && s.error instanceof PermissionViolationError) violations.push({ operation: s.error.operation, subject: s.error.subject });
    }
  })();
  return { nc, violations };
}


/** Collects raw messages on a subject from a privileged connection. */
function watchSubject(nc: NatsConnection, subject: string): string[] {
  const got: string[] = [];
  const sub = nc.subscribe(subject);
  void (async () => {
    for await (const m of sub) got.push(m.subject);
  })();
  return got;
}

const killMsg = (level: 0 | 4, by: string): KillMessage => ({ type: 'kill', level, scope: { kind: 'global' }, reason: 'spoofed', by, ts: 1, revision: 999 });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orch-perm-'));
  auth = await writeNatsAuth({ stateDir: dir, strategyIds: ['mr1', 'mom1'], env: {}, storeDir: join(dir, 'js') });
  server = await startNatsServer({ configFile: auth.configFile, storeDir: join(dir, 'js'), storeDirInConfig: true });
  broker = (await as(BROKER)).nc;
  brokerStore = await KillStore.open(broker, { clock: new TestClock(), registry: new Registry() });
  await brokerStore.raise(1, { kind: 'strategy', strategyId: 'mom1' }, 'margin', 'automation:margin');
  const jsm = await jetstreamManager(broker);
  await jsm.streams.add({ name: STREAM_EVENTS, subjects: [subjects.eventsAll()] });
});

after(async () => {
  for (const nc of conns) await nc.close().catch(() => {});
  await server.cleanup();
  await rm(dir, { recursive: true, force: true });
});

test('a strategy cannot publish a kill or a reset on orch.kill, and no listener sees one', async () => {
  const { nc: op } = await as(OPERATOR);
  const heard = watchSubject(op, subjects.kill());
  await op.flush();
  const { nc, violations } = await as(strategyRole('mr1'));
  nc.publish(subjects.kill(), encodeJson(KillMessageSchema, killMsg(4, 'automation:fake')));
  nc.publish(subjects.kill(), encodeJson(KillMessageSchema, killMsg(0, 'operator:fake')));
  await eventually(() => violations.length >= 2, 'two violations', 10_000);
  assert.deepEqual(violations, [
    { operation: 'publish', subject: 'orch.kill' },
    { operation: 'publish', subject: 'orch.kill' },
  ]);
  await op.flush();
  assert.deepEqual(heard, []);
});

test("a strategy cannot place intents on another strategy's subject but can on its own, and gets the reply", async () => {
  const received: string[] = [];
  const sub = broker.subscribe(subjects.intentAll());
  void (async () => {
    for await (const m of sub) {
      received.push(m.subject);
      m.respond('{"status":"accepted"}');
    }
  })();
  await broker.flush();
  const { nc, violations } = await as(strategyRole('mr1'));
  nc.publish(subjects.intent('mom1'), '{}');
  const reply = await nc.request(subjects.intent('mr1'), '{}', { timeout: 2_000 });
  assert.equal(reply.string(), '{"status":"accepted"}');
  await eventually(() => violations.length >= 1, 'the violation', 10_000);
  assert.deepEqual(violations, [{ operation: 'publish', subject: 'orch.intent.mom1' }]);
  await broker.flush();
  assert.deepEqual(received, ['orch.intent.mr1']);
  sub.unsubscribe();
});

test('a strategy may ask the broker for the last ticks of a still market, and gets the answer', async () => {
  const sub = broker.subscribe(subjects.lastTicks());
  void (async () => {
    for await (const m of sub) m.respond('{"ticks":[]}');
  })();
  await broker.flush();
  const { nc, violations } = await as(strategyRole('mr1'));
  const reply = await nc.request(subjects.lastTicks(), '{"venue":"kite","symbols":["NSE:INFY"]}', { timeout: 2_000 });
  assert.equal(reply.string(), '{"ticks":[]}');
  assert.deepEqual(violations, []);
  sub.unsubscribe();
});

test('a starting strategy may ask the broker for its own positions and open orders, never another strategy\'s', async () => {
  const sub = broker.subscribe(subjects.strategyStateAll());
  const asked: string[] = [];
  void (async () => {
    for await (const m of sub) {
      asked.push(m.subject);
      m.respond('{"positions":[],"openOrders":[]}');
    }
  })();
  await broker.flush();
  const { nc, violations } = await as(strategyRole('mr1'));
  const reply = await nc.request(subjects.strategyState('mr1'), '{}', { timeout: 2_000 });
  assert.equal(reply.string(), '{"positions":[],"openOrders":[]}');
  nc.publish(subjects.strategyState('mom1'), '{}');
  await eventually(() => violations.length >= 1, 'the violation', 10_000);
  assert.deepEqual(violations, [{ operation: 'publish', subject: 'orch.broker.state.mom1' }]);
  await broker.flush();
  assert.deepEqual(asked, ['orch.broker.state.mr1']);
  sub.unsubscribe();
});

test('a strategy cannot write the event log', async () => {
  const { nc, violations } = await as(strategyRole('mr1'));
  nc.publish(subjects.event('OrderFilled', 'mr1'), '{"fake":true}');
  await eventually(() => violations.length >= 1, 'the violation', 10_000);
  assert.deepEqual(violations, [{ operation: 'publish', subject: 'orch.evt.OrderFilled.mr1' }]);
  const info = await (await jetstreamManager(broker)).streams.info(STREAM_EVENTS);
  assert.equal(info.state.messages, 0);
});

test('a strategy cannot write the kill KV, neither by raw publish nor through the JetStream API', async () => {
  const before = await brokerStore.read();
  const { nc, violations } = await as(strategyRole('mom1'));
  const selfReset = JSON.stringify({ level: 0, reason: 'self-reset', by: 'operator:me', ts: 1 });
  nc.publish(`$KV.${KV_KILL}.strategy.mom1`, selfReset);
  const kv = await new Kvm(nc).open(KV_KILL);
  await assert.rejects(kv.put('strategy.mom1', selfReset), /Permissions Violation/);
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  await assert.rejects(jsm.streams.purge(`KV_${KV_KILL}`), /Permissions Violation/);
  await eventually(() => violations.length >= 3, 'three violations', 10_000);
  assert.deepEqual(violations, [
    { operation: 'publish', subject: `$KV.${KV_KILL}.strategy.mom1` },
    { operation: 'publish', subject: `$KV.${KV_KILL}.strategy.mom1` },
    { operation: 'publish', subject: `$JS.API.STREAM.PURGE.KV_${KV_KILL}` },
  ]);
  const afterState = await brokerStore.read();
  assert.equal(afterState.revision, before.revision, 'no write reached the bucket');
  assert.equal(afterState.strategies.mom1?.level, 1);
});

test('a strategy cannot listen to other strategies’ orders or intents, but reads market data', async () => {
  const { nc, violations } = await as(strategyRole('mr1'));
  nc.subscribe(subjects.orderUpdatesOf('mom1'));
  nc.subscribe(subjects.intentAll());
  const ticks: string[] = [];
  const md = nc.subscribe(subjects.marketDataAll());
  void (async () => {
    for await (const m of md) ticks.push(m.subject);
  })();
  await nc.flush();
  broker.publish(subjects.marketData('kite', 'NSE:INFY'), '{}');
  await eventually(() => ticks.length === 1 && violations.length >= 2, 'the tick and both violations', 10_000);
  assert.deepEqual(ticks, ['orch.md.kite.NSE:INFY']);
  assert.deepEqual(violations.map((v) => [v.operation, v.subject]).sort(), [
    ['subscription', 'orch.intent.*'],
    ['subscription', 'orch.order.mom1.>'],
  ]);
});

test('the supervisor reads the kill level before starting actors but cannot change it', async () => {
  const { nc, violations } = await as(SUPERVISOR);
  const store = await KillStore.open(nc, { clock: new TestClock(), role: 'reader', registry: new Registry() });
  const changes: number[] = [];
  const { state, watch } = await store.readThenWatch((c) => void changes.push(c.entry.level));
  assert.equal(state.strategies.mom1?.level, 1);
  await brokerStore.raise(2, { kind: 'global' }, 'mismatch', 'automation:reconcile');
  await eventually(() => changes.length === 1, 'the watched raise', 10_000);
  assert.deepEqual(changes, [2]);
  watch.stop();
  nc.publish(`$KV.${KV_KILL}.global`, '{}');
  nc.publish(subjects.kill(), '{}');
  await eventually(() => violations.length >= 2, 'the violations', 10_000);
  assert.deepEqual(violations.map((v) => v.subject), [`$KV.${KV_KILL}.global`, 'orch.kill']);
});

test('a strategy added to the YAML gets its own working credentials after a config reload', async () => {
  auth = await writeNatsAuth({ stateDir: dir, strategyIds: ['mr1', 'mom1', 'new1'], env: {}, storeDir: join(dir, 'js') });
  let conn: { nc: NatsConnection; violations: Seen[] } | undefined;
  // A reload under a loaded machine (the whole suite at once) can take seconds. The signal is
  // repeated until the new user gets in (a reload is idempotent): once, a lone SIGHUP under full
  // load was not followed by a reload within 20 s.
  const end = Date.now() + 30_000;
  let hupAt = 0;
  while (!conn && Date.now() < end) {
    if (Date.now() - hupAt > 2_000) {
      server.process.kill('SIGHUP');
      hupAt = Date.now();
    }
    conn = await as(strategyRole('new1')).catch(() => undefined);
    if (!conn) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(conn, 'strategy-new1 can connect once the server has reloaded');
  const heard = watchSubject(broker, subjects.intent('new1'));
  await broker.flush();
  conn.nc.publish(subjects.intent('new1'), '{}');
  conn.nc.publish(subjects.intent('mr1'), '{}');
  await eventually(() => heard.length === 1 && conn.violations.length === 1, 'its own intent through, the other refused', 10_000);
  assert.deepEqual(conn.violations, [{ operation: 'publish', subject: 'orch.intent.mr1' }]);
});

test("a strategy cannot listen to _INBOX.> nor another user's inbox, and sees none of their replies", async () => {
  const responder = broker.subscribe(subjects.lastTicks());
  void (async () => {
    for await (const m of responder) m.respond('{"ticks":[]}');
  })();
  await broker.flush();
  const { nc: spy, violations } = await as(strategyRole('mr1'));
  const heard: string[] = [];
  for (const subject of ['_INBOX.>', `${inboxPrefix('strategy-mom1')}.>`, `${inboxPrefix('operator')}.>`, `${inboxPrefix('broker')}.>`, '_INBOX.*.*.*']) {
    const sub = spy.subscribe(subject);
    void (async () => {
      for await (const m of sub) heard.push(m.subject);
    })().catch(() => undefined);
  }
  await eventually(() => violations.length >= 5, 'the five refused subscriptions', 10_000);
  assert.deepEqual(violations.map((v) => v.operation), ['subscription', 'subscription', 'subscription', 'subscription', 'subscription']);
  // Others' request/reply keeps working, and none of their replies reaches the spy.
  const { nc: other } = await as(strategyRole('mom1'));
  const { nc: op } = await as(OPERATOR);
  for (const nc of [other, op]) assert.equal((await nc.request(subjects.lastTicks(), '{}', { timeout: 2_000 })).string(), '{"ticks":[]}');
  // An event-log append's JetStream ack comes back to the broker's own inbox.
  const ack = await (await import('@nats-io/jetstream')).jetstream(broker).publish(subjects.event('broker', '_'), '{"probe":true}');
  assert.ok(ack.seq > 0);
  await spy.flush();
  assert.deepEqual(heard, []);
  responder.unsubscribe();
});

test('a strategy client that does not use its inbox prefix gets no reply: the server keeps it off the shared _INBOX', async () => {
  const responder = broker.subscribe(subjects.lastTicks());
  void (async () => {
    for await (const m of responder) m.respond('{"ticks":[]}');
  })();
  await broker.flush();
  const { nc, violations } = await as(strategyRole('mr1'), { ownInbox: false });
  await assert.rejects(nc.request(subjects.lastTicks(), '{}', { timeout: 1_000 }));
  await eventually(() => violations.some((v) => v.operation === 'subscription' && v.subject.startsWith('_INBOX.')), 'the refused default inbox', 10_000);
  responder.unsubscribe();
});
