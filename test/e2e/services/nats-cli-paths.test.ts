import { freePort } from '../../support/wait.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection, Msg } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { fixture, eventually, repoRoot } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { workspace, capturingLogger, type Workspace } from '../../support/reload-workspace.ts';
import { startSystem, type System } from '../../../supervisor/system.ts';
import { connectBus } from '../../../actors/bus.ts';
import { operatorCredentials } from '../../../supervisor/nats-auth.ts';
import { KV_KILL, SERVICE_BROKER, SERVICE_SUPERVISOR, STREAM_EVENTS } from '../../../actors/subjects.ts';

/**
 * The README's "Watching it with the NATS CLI" section, path by path, with a NATS client in the
 * place of the `nats` CLI, connected as the operator to the server `orch start` runs itself
 * (with authorization on), exactly as the README tells the operator to.
 */
let ws: Workspace;
let sys: System;
let nc: NatsConnection;
const { log } = capturingLogger();

/** `nats sub <subject>` until a message matches. */
function firstOn(subject: string, match: (j: Record<string, unknown>, m: Msg) => boolean = () => true): Promise<Record<string, unknown> & { $subject: string }> {
  const sub = nc.subscribe(subject);
  return (async () => {
    for await (const m of sub) {
      const j = m.json<Record<string, unknown>>();
      if (match(j, m)) {
        sub.unsubscribe();
        return { ...j, $subject: m.subject };
      }
    }
    throw new Error(`subscription to ${subject} ended`);
  })();
}

before(async () => {
  ws = await workspace();
  await writeFile(ws.config, renderRegistry([
    { id: 'momentum-infy', module: fixture('recorder'), instruments: ['NSE:INFY'], params: { placeOnTick: 3, placeEvery: 20, side: 'BUY', qty: 1, through: 500 } },
  ]));
  sys = await startSystem({ configFile: ws.config, log, stateDir: ws.dir, natsPort: await freePort(), metricsPort: false, simTickIntervalMs: 50, logLevel: 'silent', hotReload: false });
  const creds = await operatorCredentials(ws.dir, {});
  assert.ok(creds, 'orch start generated the operator password in <stateDir>/nats/passwords.json');
  assert.equal(creds.user, 'operator');
  // What the README's `nats context save` line reads from passwords.json.
  const stored = JSON.parse(await readFile(join(ws.dir, 'nats', 'passwords.json'), 'utf8')) as Record<string, string>;
  assert.equal(stored.operator, creds.pass);
  nc = await connectBus({ servers: sys.natsUrl, name: 'nats-cli', ...creds });
});

after(async () => {
  await nc?.close();
  await sys?.stop();
  await ws?.cleanup();
});

test('the server orch start runs refuses a client without the operator credentials', async () => {
  await assert.rejects(connectBus({ servers: sys.natsUrl, name: 'anonymous', timeoutMs: 2_000 }), /Authorization|auth/i);
});

test('nats sub on ticks, health, order updates and dead letters shows readable JSON', async () => {
  // The strategy places every 20 ticks (1 s; ten fills before its position limit): an order update follows the subscription whenever it starts.
  const [tick, health, order] = await Promise.all([
    firstOn("orch.md.kite.>"),
    firstOn("orch.health.>"),
    firstOn("orch.order.momentum-infy.>"),
  ]);
  assert.equal(tick.type, 'tick');
  assert.equal(typeof tick.seq, 'number');
  assert.equal(health.$subject, 'orch.health.momentum-infy');
  assert.equal(health.type, 'health');
  assert.equal(order.type, 'order');
  assert.equal(order.strategyId, 'momentum-infy');

  // nats req orch.intent.momentum-infy '{}': denied with invalid_payload, dead-lettered.
  const dlq = firstOn('orch.dlq.>');
  await nc.flush();
  const reply = (await nc.request('orch.intent.momentum-infy', '{}', { timeout: 5_000 })).json<{ status: string; rule: string }>();
  assert.equal(reply.status, 'denied');
  assert.equal(reply.rule, 'invalid_payload');
  const dead = await dlq;
  assert.equal(dead.subject, 'orch.intent.momentum-infy');
  assert.equal(typeof dead.error, 'string');
});

test('nats sub orch.broker.events shows a disconnect and the reconnect', async () => {
  const down = firstOn('orch.broker.events', (j) => j.type === 'BrokerDisconnected');
  const up = firstOn('orch.broker.events', (j) => j.type === 'BrokerReconnected');
  await nc.flush();
  sys.sim!.faults.dropSockets();
  assert.equal((await down).venue, 'kite');
  assert.equal((await up).venue, 'kite');
});

test("nats req orch.broker.last_ticks answers with the last tick the broker published", async () => {
  const live = await firstOn('orch.md.kite.NSE:INFY');
  const reply = (await nc.request('orch.broker.last_ticks', '{"venue":"kite","symbols":["NSE:INFY"]}', { timeout: 5_000 })).json<{ ticks: { symbol: string; seq: number }[] }>();
  assert.equal(reply.ticks.length, 1);
  assert.equal(reply.ticks[0]!.symbol, 'NSE:INFY');
  assert.ok(reply.ticks[0]!.seq >= (live.seq as number), 'not older than a tick already seen live');
});

test('nats stream info / view ORCH_EVENTS read the event log', async () => {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAM_EVENTS);
  assert.deepEqual(info.config.subjects, ['orch.evt.>']);
  assert.ok(info.state.messages > 0);
  const first = await jsm.streams.getMessage(STREAM_EVENTS, { seq: info.state.first_seq });
  assert.ok(first, 'the first event is readable');
  assert.match(first.subject, /^orch\.evt\./);
  assert.equal(typeof first.json<{ kind: string }>().kind, 'string');
});

test('nats kv get / history orch_kill global show the latched level once raised; nats sub orch.kill shows the broadcast', async () => {
  const kv = await new Kvm(nc).open(KV_KILL);
  // Never raised: no entry, which means level 0.
  assert.equal(await kv.get('global'), null);
  const broadcast = firstOn('orch.kill');
  await nc.flush();
  await sys.killStore.raise(2, { kind: 'global' }, 'readme check', 'automation:test');
  const e = await kv.get('global');
  assert.equal(e?.json<{ level: number }>().level, 2);
  const history = [];
  for await (const h of await kv.history({ key: 'global' })) history.push(h);
  assert.equal(history.length, 1);
  assert.equal((await broadcast).level, 2);
});

test('nats micro ls / info / stats and nats req on the status endpoints', async () => {
  const pings = [];
  const replies = await nc.requestMany('$SRV.PING', '', { maxWait: 1_000 });
  for await (const m of replies) pings.push(m.json<{ name: string }>().name);
  assert.deepEqual(pings.sort(), [SERVICE_BROKER, SERVICE_SUPERVISOR]);
  const info = (await nc.request(`$SRV.INFO.${SERVICE_BROKER}`, '', { timeout: 5_000 })).json<{ endpoints: { name: string; subject: string }[] }>();
  assert.deepEqual(info.endpoints.map((x) => x.subject), ['orch.svc.broker.status']);
  const stats = (await nc.request(`$SRV.STATS.${SERVICE_SUPERVISOR}`, '', { timeout: 5_000 })).json<{ type: string }>();
  assert.equal(stats.type, 'io.nats.micro.v1.stats_response');
  const broker = (await nc.request('orch.svc.broker.status', '', { timeout: 5_000 })).json<{ kill: { global: { level: number } } }>();
  assert.equal(broker.kill.global.level, 2);
  const sup = (await nc.request('orch.svc.supervisor.status', '', { timeout: 5_000 })).json<{ actors: { id: string }[] }>();
  assert.deepEqual(sup.actors.map((a) => a.id), ['momentum-infy']);
});

test('every nats command in the README section names a subject, stream, bucket or service that exists', async () => {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Watching it with the NATS CLI'), readme.indexOf('## Metrics'));
  const cmds = [...section.matchAll(/^nats (.+?)\s*(?:#.*)?$/gm)].map((m) => m[1]!);
  assert.ok(cmds.length >= 15, 'the section lists the commands');
  const known = [
    /^sub '?orch\.(>|md\.kite\.>|order\.[\w-]+\.>|broker\.events|kill|dlq\.>|health\.>)'?$/,
    /^stream (info|view) ORCH_EVENTS$/,
    /^kv (get|history) orch_kill (global|strategy\.[\w-]+)$/,
    /^req orch\.intent\.[\w-]+ '\{\}'$/,
    /^req orch\.broker\.last_ticks '\{"venue":"kite","symbols":\["NSE:INFY"\]\}'$/,
    /^micro (ls|info orch-broker|info orch-supervisor|stats orch-broker|stats orch-supervisor)$/,
    /^req orch\.svc\.(broker\.status|supervisor\.(status|strategies|reload)) ''$/,
    /^context (save|select) orch.*$/,
  ];
  for (const c of cmds) assert.ok(known.some((k) => k.test(c)), `README shows an unchecked command: nats ${c}`);
});
