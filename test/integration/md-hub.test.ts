import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.ts';
import { spec, eventually } from '../support/specs.ts';
import { startBusAnsweringState, stopBus } from '../support/broker-state.ts';
import { Supervisor } from '../../supervisor/supervisor.ts';
import { MarketDataHub } from '../../supervisor/md-hub.ts';
import { SystemClock } from '../../actors/clock.ts';
import { encodeJson, publishJson, subscribeParsed } from '../../actors/bus.ts';
import { subjects } from '../../actors/subjects.ts';
import { DeadLetterSchema, IntentReplySchema, IntentSchema, LastTicksReplySchema, LastTicksRequestSchema, MAX_PAYLOAD_BYTES, TickSchema, type DeadLetter, type Health, type Tick } from '../../actors/messages.ts';

/**
 * The per-host fan-out (supervisor/md-hub.ts): real worker threads fed from shared memory by the
 * hub's thread, which alone subscribes to the market data on a real nats-server.
 */

let server: NatsServerHandle;
let nc: NatsConnection;
let hub: MarketDataHub;
const log = pino({ level: 'silent' });

before(async () => {
  ({ server, nc } = await startBusAnsweringState());
  // The broker's last ticks: only NSE:SBIN has had one.
  subscribeParsed(nc, subjects.lastTicks(), LastTicksRequestSchema, (req, msg) => {
    const ticks = req.symbols.includes('NSE:SBIN') ? [tick('NSE:SBIN', 7)] : [];
    msg.respond(encodeJson(LastTicksReplySchema, { ticks }));
  });
  await nc.flush();
  hub = new MarketDataHub({ natsUrl: server.url, log });
  await hub.start();
});
after(async () => {
  await hub.stop();
  await stopBus({ server, nc });
});

function tick(symbol: string, seq: number): Tick {
  return { type: 'tick', venue: 'kite', symbol, seq, ts: Date.now(), recvTs: Date.now(), last: 150_000 + seq };
}

function supervisor(): Supervisor {
  return new Supervisor({ host: { natsUrl: server.url, logLevel: 'silent', marketData: (s) => hub.attach(s) }, clock: new SystemClock(), log });
}

async function health(sup: Supervisor, id: string): Promise<Health | undefined> {
  return (await sup.view()).find((v) => v.id === id)?.health;
}

test('a slow strategy takes the newest tick and counts the ones it skipped; a fast one on the same instrument takes every tick; a spinning one slows neither', async () => {
  const sup = supervisor();
  // The slow strategy places on every tick it takes; its intents are answered 500 ms late.
  const taken: number[] = [];
  nc.subscribe(subjects.intent('slow'), {
    callback: (_e, msg) => {
      const intent = IntentSchema.parse(JSON.parse(new TextDecoder().decode(msg.data)));
      if (intent.action === 'place' && intent.limitPrice !== undefined) taken.push(intent.limitPrice - 100 - 150_000);
      setTimeout(() => msg.respond(encodeJson(IntentReplySchema, { status: 'accepted', intentId: intent.intentId })), 500);
    },
  });
  await nc.flush();
  await sup.startAll([
    spec('fast', { instruments: ['NSE:INFY'] }),
    spec('slow', { instruments: ['NSE:INFY'], params: { placeEvery: 1, side: 'BUY', qty: 1, through: 100 } }),
    spec('spinner', { module: spec('x').module.replace('recorder', 'spinner'), instruments: ['NSE:INFY'], params: { spinOnTick: 1 } }),
  ]);
  try {
    // Three workers, one subscription.
    assert.deepEqual(await hub.subjects(), [subjects.marketData('kite', 'NSE:INFY')]);
    const sent = 40;
    for (let seq = 1; seq <= sent; seq++) {
      publishJson(nc, subjects.marketData('kite', 'NSE:INFY'), TickSchema, tick('NSE:INFY', seq));
      // The next tick only once the fast strategy has this one: it must never have skipped one.
      await eventually(async () => (await health(sup, 'fast'))?.ticks === seq, `fast to take tick ${seq}`, 15_000, 2);
    }
    const fast = (await health(sup, 'fast'))!;
    assert.deepEqual([fast.ticks, fast.ticksConflated, fast.tickGaps], [sent, 0, 0]);
    const slow = await eventually(async () => { const h = await health(sup, 'slow'); return h?.ticks === sent ? h : undefined; }, 'slow to account for every tick');
    await eventually(() => taken.at(-1) === sent, 'slow to take the newest tick');
    assert.ok((slow.ticksConflated ?? 0) > 0, 'the slow strategy skipped some ticks');
    // Every tick is either taken or counted as skipped, none lost.
    assert.equal(taken.length + (slow.ticksConflated ?? 0), sent);
    assert.equal(slow.tickGaps, 0);
    assert.deepEqual(taken, [...taken].sort((a, b) => a - b));
  } finally {
    await sup.stopAll();
  }
});

test('ticks lost in transport are counted as gaps; a malformed or oversize tick is dead-lettered once, naming the field, and counts as a gap', async () => {
  const sup = supervisor();
  const dead: DeadLetter[] = [];
  subscribeParsed(nc, subjects.deadLetterAll(), DeadLetterSchema, (d) => { dead.push(d); });
  await nc.flush();
  await sup.startAll([spec('a', { instruments: ['NSE:TCS'] }), spec('b', { instruments: ['NSE:TCS', 'NSE:WIPRO'] })]);
  const md = subjects.marketData('kite', 'NSE:TCS');
  try {
    const send = async (seq: number, expected: number) => {
      publishJson(nc, md, TickSchema, tick('NSE:TCS', seq));
      await eventually(async () => (await health(sup, 'a'))?.ticks === expected && (await health(sup, 'b'))?.ticks === expected, `tick ${seq} taken`);
    };
    await send(1, 1);
    await send(2, 2);
    // 3 and 4 never reach NATS; 5 is malformed; 6 is too large to read.
    nc.publish(md, new TextEncoder().encode(JSON.stringify({ ...tick('NSE:TCS', 5), last: -1 })));
    nc.publish(md, new Uint8Array(MAX_PAYLOAD_BYTES + 1));
    await send(7, 3);
    for (const id of ['a', 'b']) {
      const h = (await health(sup, id))!;
      assert.deepEqual([h.ticks, h.tickGaps, h.ticksConflated], [3, 4, 0], id);
    }
    await eventually(() => dead.length >= 2, 'the dead letters');
    await new Promise((r) => setTimeout(r, 100));
    // Once for the process, not once per worker.
    assert.equal(dead.length, 2);
    assert.match(dead[0]!.error, /last/);
    assert.match(dead[1]!.error, /over the .*-byte limit/);
    assert.equal(dead[0]!.subject, md);
  } finally {
    await sup.stopAll();
  }
});

test("a strategy starting after its instrument's last tick gets it at once; the hub follows the strategies that come and go; a restarted one does not disturb its neighbour", async () => {
  const sup = supervisor();
  try {
    await sup.startAll([spec('late', { instruments: ['NSE:SBIN'] })]);
    // Nothing published live: the broker's last tick (seq 7) is the catch-up.
    await eventually(async () => (await health(sup, 'late'))?.ticks === 1, 'the last tick after start');
    assert.deepEqual(await hub.subjects(), [subjects.marketData('kite', 'NSE:SBIN')]);

    await sup.startAll([
      spec('steady', { instruments: ['NSE:ITC'] }),
      spec('crashy', { instruments: ['NSE:ITC'], params: { throwOnTick: 2, side: 'BUY', qty: 1, through: 100 }, restart: { maxRestarts: 5, withinSeconds: 60 } }),
    ]);
    assert.deepEqual(await hub.subjects(), [subjects.marketData('kite', 'NSE:ITC'), subjects.marketData('kite', 'NSE:SBIN')]);
    let sent = 0;
    await eventually(async () => {
      publishJson(nc, subjects.marketData('kite', 'NSE:ITC'), TickSchema, tick('NSE:ITC', ++sent));
      await new Promise((r) => setTimeout(r, 20));
      return (await sup.view()).find((v) => v.id === 'crashy')!.restarts >= 2;
    }, 'crashy to be restarted twice', 30_000);
    const steady = await eventually(async () => { const h = await health(sup, 'steady'); return h?.ticks === sent ? h : undefined; }, 'steady to have every tick');
    assert.equal(steady.tickGaps, 0);
    // A restarted worker gets the instrument's last tick from the hub at once.
    await eventually(async () => sup.status('crashy') === 'running' && ((await health(sup, 'crashy'))?.ticks ?? 0) >= 1, 'the restarted crashy to have the last tick');

    await sup.removeChild('late');
    await eventually(async () => !(await hub.subjects()).includes(subjects.marketData('kite', 'NSE:SBIN')), 'the hub to drop NSE:SBIN');
    await sup.removeChild('crashy');
    assert.deepEqual(await hub.subjects(), [subjects.marketData('kite', 'NSE:ITC')]);
    await sup.removeChild('steady');
    assert.deepEqual(await hub.subjects(), []);
  } finally {
    await sup.stopAll();
  }
});

test("a hub thread that ends is replaced: the strategies' ticks resume in the same slots, none taken twice, none counted lost", async () => {
  const sup = supervisor();
  await sup.startAll([spec('onward', { instruments: ['NSE:HCLTECH'] })]);
  const md = subjects.marketData('kite', 'NSE:HCLTECH');
  try {
    publishJson(nc, md, TickSchema, tick('NSE:HCLTECH', 1));
    await eventually(async () => (await health(sup, 'onward'))?.ticks === 1, 'tick 1');
    const thread = (hub as unknown as { worker: import('node:worker_threads').Worker }).worker;
    await thread.terminate();
    // The new thread has subscribed again once it lists the instrument.
    await eventually(async () => (await hub.subjects()).includes(md), 'a new hub thread with the instrument', 30_000);
    // The new thread's first write is the slot's second, not a first the worker has already taken.
    publishJson(nc, md, TickSchema, tick('NSE:HCLTECH', 2));
    const h = await eventually(async () => { const x = await health(sup, 'onward'); return x?.ticks === 2 ? x : undefined; }, 'tick 2 through the new thread');
    assert.deepEqual([h.tickGaps, h.ticksConflated], [0, 0]);
  } finally {
    await sup.stopAll();
  }
});

test("after the hub's NATS connection comes back it asks for the last ticks again, and the ticks missed while down count as a gap", async () => {
  const own = await startBusAnsweringState();
  let last = tick('NSE:LT', 5);
  const asked: string[][] = [];
  subscribeParsed(own.nc, subjects.lastTicks(), LastTicksRequestSchema, (req, msg) => {
    asked.push(req.symbols);
    msg.respond(encodeJson(LastTicksReplySchema, { ticks: [last] }));
  });
  await own.nc.flush();
  const ownHub = new MarketDataHub({ natsUrl: own.server.url, log });
  await ownHub.start();
  const sup = new Supervisor({ host: { natsUrl: own.server.url, logLevel: 'silent', marketData: (s) => ownHub.attach(s) }, clock: new SystemClock(), log });
  let restarted: NatsServerHandle | undefined;
  try {
    await sup.startAll([spec('still', { instruments: ['NSE:LT'] })]);
    await eventually(async () => (await health(sup, 'still'))?.ticks === 1, 'the last tick at start');
    await own.server.stop();
    // While the server was down the market moved (seq 6..9 went out to nobody), then stood still.
    last = tick('NSE:LT', 9);
    restarted = await own.server.restart();
    const h = await eventually(async () => { const x = await health(sup, 'still'); return x?.ticks === 2 ? x : undefined; }, 'the last tick after the reconnect', 30_000);
    assert.equal(h.tickGaps, 3, 'seq 6, 7 and 8 never reached this process');
    assert.ok(asked.length >= 2 && asked.every((s) => s.join() === 'NSE:LT'));
  } finally {
    await sup.stopAll();
    await ownHub.stop();
    await own.nc.close();
    await (restarted ?? own.server).cleanup();
  }
});

test('a hub whose NATS user may not read the market data says so in its log, naming the subject', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-md-hub-'));
  // A supervisor user from before the hub: no orch.md.> among what it may read.
  const conf = join(dir, 'nats.conf');
  await writeFile(conf, `authorization { users = [ { user: "supervisor", password: "pw", permissions: { publish: { allow: [">"] }, subscribe: { allow: ["_INBOX.>"] } } } ] }\n`);
  const own = await startNatsServer({ configFile: conf });
  const lines: string[] = [];
  const logged = pino({ level: 'info' }, { write: (l: string) => { lines.push(l); } });
  const refused = new MarketDataHub({ natsUrl: own.url, user: 'supervisor', pass: 'pw', log: logged });
  try {
    await refused.start();
    const feed = refused.attach({ venue: 'kite', instruments: ['NSE:INFY'] });
    const line = await eventually(() => lines.find((l) => l.includes('market data subscription refused')), 'the refusal logged');
    const entry = JSON.parse(line) as { level: number; subject: string };
    assert.equal(entry.level, 50);
    assert.equal(entry.subject, subjects.marketData('kite', 'NSE:INFY'));
    feed.release();
  } finally {
    await refused.stop();
    await own.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
});

test('two symbols whose subjects are the same (a dot and an underscore) each get their own ticks through one subscription', async () => {
  const sup = supervisor();
  const dead: DeadLetter[] = [];
  const dlq = subscribeParsed(nc, subjects.deadLetterAll(), DeadLetterSchema, (d) => { dead.push(d); });
  await nc.flush();
  try {
    await sup.startAll([spec('dot', { instruments: ['NSE:X.Y'] }), spec('under', { instruments: ['NSE:X_Y'] })]);
    assert.equal(subjects.marketData('kite', 'NSE:X.Y'), subjects.marketData('kite', 'NSE:X_Y'));
    assert.deepEqual(await hub.subjects(), [subjects.marketData('kite', 'NSE:X_Y')]);
    publishJson(nc, subjects.marketData('kite', 'NSE:X.Y'), TickSchema, tick('NSE:X.Y', 1));
    publishJson(nc, subjects.marketData('kite', 'NSE:X_Y'), TickSchema, tick('NSE:X_Y', 1));
    publishJson(nc, subjects.marketData('kite', 'NSE:X_Y'), TickSchema, tick('NSE:X_Y', 2));
    for (const [id, n] of [['dot', 1], ['under', 2]] as const) {
      const h = await eventually(async () => { const x = await health(sup, id); return x?.ticks === n ? x : undefined; }, `${id} to have ${n} ticks`);
      assert.equal(h.tickGaps, 0, id);
    }
    await sup.removeChild('dot');
    assert.deepEqual(await hub.subjects(), [subjects.marketData('kite', 'NSE:X_Y')], 'still read for the other symbol');
    assert.deepEqual(dead, []);
  } finally {
    dlq.unsubscribe();
    await sup.stopAll();
  }
});
