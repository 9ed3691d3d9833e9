import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer } from '../support/nats-server.ts';
import { spec, fixture, eventually } from '../support/specs.ts';
import { answerStrategyState } from '../support/broker-state.ts';
import { StrategyActor } from '../../actors/strategy-actor.ts';
import { SystemClock } from '../../actors/clock.ts';
import { connectBus, encodeJson, publishJson, subscribeParsed } from '../../actors/bus.ts';
import { subjects } from '../../actors/subjects.ts';
import { BrokerEventSchema, IntentReplySchema, IntentSchema, type Intent, type IntentReply, type StrategyStateReply, DeadLetterSchema, KillMessageSchema, LastTicksReplySchema, LastTicksRequestSchema, OrderUpdateSchema, StrategyStateReplySchema, StrategyStateRequestSchema, TickSchema, type DeadLetter, type OrderUpdate, type Tick } from '../../actors/messages.ts';
import { importStrategyModule } from '../../actors/strategy-contract.ts';

test('an actor starts knowing the latched kill level, and an older broadcast cannot lower it', async () => {
  const server = await startNatsServer();
  const nc = await connectBus({ servers: server.url, name: 'operator-sim' });
  answerStrategyState(nc);
  await nc.flush();
  const actor = new StrategyActor({
    spec: spec('halted'), module: await importStrategyModule(fixture('recorder')), natsUrl: server.url,
    clock: new SystemClock(), log: pino({ level: 'silent' }), initialKill: { level: 1, revision: 7 },
  });
  try {
    await actor.start();
    assert.equal(actor.ctx.killLevel(), 1, 'known before any broadcast');
    const kill = (level: 0 | 1 | 2 | 3 | 4, revision: number) =>
      publishJson(nc, subjects.kill(), KillMessageSchema, { type: 'kill', level, scope: { kind: 'global' }, reason: 'test', by: 'operator', ts: 0, revision });
    const acks: number[] = [];
    const sub = nc.subscribe(subjects.killAck('halted'));
    void (async () => { for await (const m of sub) acks.push((m.json() as { revision: number }).revision); })();
    await nc.flush();
    kill(0, 5); // stale: older than what the actor read at start
    kill(3, 8);
    await eventually(() => acks.includes(8), 'the newer broadcast to be acknowledged');
    assert.deepEqual(acks, [8], 'the stale broadcast was never applied');
    assert.equal(actor.ctx.killLevel(), 3);
    assert.equal(actor.health().state, 'halted');
  } finally {
    await actor.stop();
    await nc.close();
    await server.cleanup();
  }
});

/** Answers last-tick requests as the broker does, with whatever `last()` is then; records the requests. */
function lastTicksResponder(nc: NatsConnection, last: () => Tick): unknown[] {
  const asked: unknown[] = [];
  answerStrategyState(nc);
  subscribeParsed(nc, subjects.lastTicks(), LastTicksRequestSchema, (req, msg) => {
    asked.push(req);
    msg.respond(encodeJson(LastTicksReplySchema, { ticks: [last()] }));
  });
  return asked;
}

const recorderActor = async (id: string, natsUrl: string) => new StrategyActor({
  spec: spec(id), module: await importStrategyModule(fixture('recorder')), natsUrl, clock: new SystemClock(), log: pino({ level: 'silent' }),
});

test('at start an actor asks for the last tick of its instruments; the same tick arriving live is not counted twice', async () => {
  const server = await startNatsServer();
  const nc = await connectBus({ servers: server.url, name: 'broker-sim' });
  const last: Tick = { type: 'tick', venue: 'kite', symbol: 'NSE:INFY', seq: 5, ts: 1, recvTs: 1, last: 150_000 };
  const asked = lastTicksResponder(nc, () => last);
  await nc.flush();
  const actor = await recorderActor('late', server.url);
  try {
    await actor.start();
    await eventually(() => actor.health().ticks === 1, 'the last tick to reach the strategy');
    assert.deepEqual(asked, [{ venue: 'kite', symbols: ['NSE:INFY'] }]);
    publishJson(nc, subjects.marketData('kite', 'NSE:INFY'), TickSchema, last); // the same tick, live
    // Seq 7 (6 lost on purpose) is counted as a gap when handled: by then the duplicate before it was handled too.
    publishJson(nc, subjects.marketData('kite', 'NSE:INFY'), TickSchema, { ...last, seq: 7, last: 150_500 });
    await eventually(() => actor.health().tickGaps === 1, 'the tick after the duplicate');
    assert.equal(actor.health().ticks, 2, 'seq 5 counted once, then seq 7');
  } finally {
    await actor.stop();
    await nc.close();
    await server.cleanup();
  }
});

test('after its NATS connection comes back, an actor asks for the last ticks again: a still market would send no other', async () => {
  const server = await startNatsServer();
  const nc = await connectBus({ servers: server.url, name: 'broker-sim' });
  let last: Tick = { type: 'tick', venue: 'kite', symbol: 'NSE:INFY', seq: 5, ts: 1, recvTs: 1, last: 150_000 };
  const asked = lastTicksResponder(nc, () => last);
  await nc.flush();
  const actor = await recorderActor('reconnecting', server.url);
  let restarted: Awaited<ReturnType<typeof server.restart>> | undefined;
  try {
    await actor.start();
    await eventually(() => actor.health().ticks === 1, 'the last tick at start');
    await server.stop();
    // While the server was down the market moved once (seq 6..9 went out to nobody), then stood still.
    last = { ...last, seq: 9, last: 151_000 };
    restarted = await server.restart();
    await eventually(() => actor.health().ticks === 2, 'the last tick after the reconnect', 20_000);
    assert.equal(asked.length, 2);
    assert.equal(actor.health().tickGaps, 3, 'the ticks missed while down are counted as a gap');
  } finally {
    await actor.stop();
    await nc.close();
    await (restarted ?? server).cleanup();
  }
});

test('a starting actor takes its positions and open orders from the broker; updates before the answer are not counted twice, those after are', async () => {
  const server = await startNatsServer();
  const broker = await connectBus({ servers: server.url, name: 'broker-sim' });
  const update = (intentId: string, fillId: string, qty: number, filledQty: number): OrderUpdate => ({
    type: 'order', strategyId: 'heir', intentId, venue: 'kite', venueOrderId: `v-${intentId}`, symbol: 'NSE:INFY', side: 'SELL',
    state: 'partially_filled', venueStatus: 'OPEN', qty: 10, filledQty, fill: { fillId, qty, price: 150_000, ts: 1 }, ts: 1,
  });
  // As the broker does: one connection publishes the updates and the answer, in this order.
  subscribeParsed(broker, subjects.strategyState('heir'), StrategyStateRequestSchema, (_req, msg) => {
    publishJson(broker, subjects.orderUpdate('heir', 'old1'), OrderUpdateSchema, update('old1', 'f1', 2, 2)); // counted in the answer
    msg.respond(encodeJson(StrategyStateReplySchema, {
      positions: [{ symbol: 'NSE:INFY', qty: -5 }],
      openOrders: [{ intentId: 'old1', symbol: 'NSE:INFY', side: 'SELL', qty: 10, filledQty: 2, limitPrice: 150_000, state: 'partially_filled' }],
    }));
    publishJson(broker, subjects.orderUpdate('heir', 'old1'), OrderUpdateSchema, update('old1', 'f2', 1, 3)); // after it: new
  });
  await broker.flush();
  const actor = new StrategyActor({ spec: spec('heir'), module: await importStrategyModule(fixture('recorder')), natsUrl: server.url, clock: new SystemClock(), log: pino({ level: 'silent' }) });
  try {
    await actor.start();
    await eventually(() => actor.ctx.position('NSE:INFY') === -6, 'the fill after the answer to be counted');
    await broker.flush();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(actor.ctx.position('NSE:INFY'), -6, 'the fill before the answer was in it already');
    assert.deepEqual(actor.ctx.openOrders().map((o) => [o.intentId, o.filledQty, o.state]), [['old1', 3, 'partially_filled']]);
  } finally {
    await actor.stop();
    await broker.close();
    await server.cleanup();
  }
});

test('an actor whose broker never answers with its positions fails to start instead of trading blind', async () => {
  const server = await startNatsServer();
  const actor = new StrategyActor({
    spec: spec('blind'), module: await importStrategyModule(fixture('recorder')), natsUrl: server.url, clock: new SystemClock(), log: pino({ level: 'silent' }), stateTimeoutMs: 600,
  });
  try {
    await assert.rejects(actor.start(), /positions and open orders/);
  } finally {
    await actor.stop().catch(() => undefined);
    await server.cleanup();
  }
});

test('an intent past its deadline resolves as a timeout answer; the strategy that does not handle it keeps running', async () => {
  const server = await startNatsServer();
  const broker = await connectBus({ servers: server.url, name: 'broker-sim' });
  answerStrategyState(broker);
  const heard: string[] = [];
  // A broker that hears the intent but answers too late (never, here).
  const slow = broker.subscribe(subjects.intent('late'));
  void (async () => { for await (const m of slow) heard.push(m.subject); })();
  await broker.flush();
  const actor = new StrategyActor({
    spec: spec('late', { params: { placeOnTick: 1, side: 'BUY', qty: 1, through: 100 } }), module: await importStrategyModule(fixture('recorder')),
    natsUrl: server.url, clock: new SystemClock(), log: pino({ level: 'silent' }), intentTimeoutMs: 300,
  });
  let crashed: unknown;
  actor.done.catch((e: unknown) => { crashed = e; });
  try {
    await actor.start();
    const answer = await actor.ctx.place({ symbol: 'NSE:INFY', side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: 150_000 });
    assert.equal(answer.status, 'timeout');
    if (answer.status === 'timeout') assert.equal(answer.afterMs, 300);
    assert.deepEqual(actor.ctx.openOrders().map((o) => o.state), ['pending'], 'it may rest at the venue: kept until an update says');
    // The recorder fixture awaits its place on tick 1 and does not look at a timeout.
    publishJson(broker, subjects.marketData('kite', 'NSE:INFY'), TickSchema, { type: 'tick', venue: 'kite', symbol: 'NSE:INFY', seq: 1, ts: 1, recvTs: 1, last: 150_000 });
    await eventually(() => heard.length === 2, 'the strategy\'s own place');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(crashed, undefined);
    assert.equal(actor.health().state, 'running');
  } finally {
    await actor.stop();
    await broker.close();
    await server.cleanup();
  }
});

test('a strategy slower than its ticks gets the newest tick of each instrument, the skipped ones counted, and every tick under the every-tick policy', async () => {
  const server = await startNatsServer();
  const nc = await connectBus({ servers: server.url, name: 'md-sim' });
  answerStrategyState(nc);
  subscribeParsed(nc, subjects.lastTicks(), LastTicksRequestSchema, (_req, msg) => { msg.respond(encodeJson(LastTicksReplySchema, { ticks: [] })); });
  await nc.flush();
  const run = async (id: string, tickPolicy: 'latest' | 'every') => {
    // The first tick holds the strategy until released: everything after it arrives meanwhile.
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const seen: string[] = [];
    const actor = new StrategyActor({
      spec: spec(id, { instruments: ['NSE:INFY', 'NSE:TCS'] }), natsUrl: server.url, clock: new SystemClock(), log: pino({ level: 'silent' }), tickPolicy,
      module: { create: () => ({ onTick: async (t: Tick) => { seen.push(`${t.symbol}#${t.seq}`); if (seen.length === 1) await held; } }) } as never,
    });
    await actor.start();
    const tick = (symbol: string, seq: number) => publishJson(nc, subjects.marketData('kite', symbol), TickSchema, { type: 'tick', venue: 'kite', symbol, seq, ts: 1, recvTs: 1, last: 100 + seq });
    tick('NSE:INFY', 1);
    await eventually(() => seen.length === 1, 'the first tick taken');
    for (let seq = 2; seq <= 40; seq++) tick('NSE:INFY', seq);
    for (let seq = 1; seq <= 5; seq++) tick('NSE:TCS', seq);
    await nc.flush();
    await eventually(() => actor.health().ticks === 45, 'every tick received by the actor');
    release();
    await eventually(() => seen.length >= (tickPolicy === 'every' ? 45 : 3), 'the waiting ticks delivered');
    await new Promise((r) => setTimeout(r, 100));
    const h = actor.health();
    await actor.stop();
    return { seen, conflated: h.ticksConflated };
  };
  try {
    const latest = await run('slow-latest', 'latest');
    // INFY#2 waited first and was replaced up to #40; TCS#1 waited and was replaced up to #5.
    assert.deepEqual(latest.seen, ['NSE:INFY#1', 'NSE:INFY#40', 'NSE:TCS#5']);
    assert.equal(latest.conflated, 38 + 4);
    const { registry } = await import('../../actors/metrics.ts');
    const counted = (await registry.getSingleMetric('orch_ticks_conflated_total')!.get()).values.find((v) => v.labels.actor === 'slow-latest');
    assert.equal(counted?.value, 42);
    const every = await run('slow-every', 'every');
    assert.equal(every.seen.length, 45);
    assert.equal(every.conflated, 0);
  } finally {
    await nc.close();
    await server.cleanup();
  }
});

test('a strategy worker refuses a malformed tick with an error naming the field, dead-lettered, and takes the next one', async () => {
  const server = await startNatsServer();
  const nc = await connectBus({ servers: server.url, name: 'md-sim' });
  answerStrategyState(nc);
  subscribeParsed(nc, subjects.lastTicks(), LastTicksRequestSchema, (_req, msg) => { msg.respond(encodeJson(LastTicksReplySchema, { ticks: [] })); });
  const subject = subjects.marketData('kite', 'NSE:INFY');
  const dead: DeadLetter[] = [];
  const dlq = nc.subscribe(subjects.deadLetter(subject));
  void (async () => { for await (const m of dlq) dead.push(DeadLetterSchema.parse(m.json())); })();
  await nc.flush();
  const seen: Tick[] = [];
  const actor = new StrategyActor({
    spec: spec('strict-reader'), natsUrl: server.url, clock: new SystemClock(), log: pino({ level: 'silent' }),
    module: { create: () => ({ onTick: (t: Tick) => { seen.push(t); } }) } as never,
  });
  const good: Tick = { type: 'tick', venue: 'kite', symbol: 'NSE:INFY', seq: 1, ts: 1, recvTs: 1, last: 150_000 };
  // One at a time: a tick replaced before the strategy reads it is conflated, never read.
  const refused = async (payload: string) => {
    const n = dead.length;
    nc.publish(subject, payload);
    await eventually(() => dead.length === n + 1, `a dead letter for ${payload}`);
    return dead[n]!.error;
  };
  try {
    await actor.start();
    assert.match(await refused('{"type":"tick"'), /not JSON/);
    assert.match(await refused(JSON.stringify({ ...good, last: -5 })), /last/);
    assert.match(await refused(JSON.stringify({ ...good, last: 1.5 })), /last/);
    assert.match(await refused(JSON.stringify({ ...good, venue: 'nse' })), /venue/);
    assert.match(await refused(JSON.stringify({ ...good, extra: 1 })), /extra/);
    assert.match(await refused(JSON.stringify({ ...good, symbol: 'NSE:TCS' })), /NSE:TCS on the subject of kite NSE:INFY/);
    assert.match(await refused(`{"seq":1,${JSON.stringify({ ...good, seq: 9 }).slice(1)}`), /seq/);
    publishJson(nc, subject, TickSchema, { ...good, seq: 10 });
    await eventually(() => seen.length === 1, 'the good tick after them');
    assert.deepEqual(seen, [{ ...good, seq: 10 }]);
    assert.equal(actor.health().state, 'running');
  } finally {
    await actor.stop();
    await nc.close();
    await server.cleanup();
  }
});

test('a place that timed out waiting for a broker that then died is not pending for ever: the broker that becomes ready next replaces the view, and a place still awaiting its answer is kept', async () => {
  const server = await startNatsServer();
  const nc = await connectBus({ servers: server.url, name: 'broker-sim' });
  // The new broker holds a position for this strategy and none of the orders the old one never judged.
  let state: StrategyStateReply = { positions: [], openOrders: [] };
  answerStrategyState(nc, () => state);
  // The frozen broker: hears every intent, answers none (until `answer` is set).
  let answer: ((intent: Intent, reply: (r: IntentReply) => void) => void) | undefined;
  subscribeParsed(nc, subjects.intent('orphan'), IntentSchema, (intent, msg) => answer?.(intent, (r) => msg.respond(encodeJson(IntentReplySchema, r))));
  await nc.flush();
  const actor = new StrategyActor({
    spec: spec('orphan'), module: await importStrategyModule(fixture('recorder')), natsUrl: server.url,
    clock: new SystemClock(), log: pino({ level: 'silent' }), intentTimeoutMs: 300,
  });
  try {
    await actor.start();
    const lost = await actor.ctx.place({ symbol: 'NSE:INFY', side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: 150_000 });
    assert.equal(lost.status, 'timeout');
    assert.deepEqual(actor.ctx.openOrders().map((o) => [o.intentId, o.state]), [[lost.intentId, 'pending']], 'timed out: it may exist, so it is pending');
    // A place sent to the new broker that it has not answered yet when the view is replaced.
    let release: (() => void) | undefined;
    answer = (intent, reply) => { release = () => reply({ status: 'accepted', intentId: intent.intentId }); };
    const inFlight = actor.ctx.place({ symbol: 'NSE:INFY', side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: 149_000 });
    await eventually(() => release !== undefined, 'the second place to reach the broker');
    state = { positions: [{ symbol: 'NSE:INFY', qty: 3 }], openOrders: [] };
    publishJson(nc, subjects.brokerEvents(), BrokerEventSchema, { type: 'BrokerReady', ts: Date.now() });
    await eventually(() => actor.ctx.position('NSE:INFY') === 3, 'the new broker\'s view to replace the strategy\'s');
    const open = actor.ctx.openOrders();
    assert.equal(open.some((o) => o.intentId === lost.intentId), false, 'the place no broker will judge is no longer pending');
    assert.equal(open.length, 1, 'the place awaiting its answer is kept');
    release!();
    assert.equal((await inFlight).status, 'accepted');
  } finally {
    await actor.stop();
    await nc.close();
    await server.cleanup();
  }
});
