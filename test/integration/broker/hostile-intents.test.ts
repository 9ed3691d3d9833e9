import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { spec, eventually } from '../../support/specs.ts';
import { kiteBrokerOnSim } from '../../support/kite-broker.ts';
import { INFY, placeIntent, sendIntent, sendWhenPriced, readLog } from '../../support/recovery-harness.ts';
import { parseMsg } from '../../../actors/bus.ts';
import { IntentReplySchema, type IntentReply } from '../../../actors/messages.ts';
import { subjects } from '../../../actors/subjects.ts';
import { metrics } from '../../../actors/metrics.ts';

/**
 * Strategies that misbehave on purpose, against a real broker, nats-server and the built-in
 * exchange: one bad message must not stop everyone else, nor grow the broker without bound.
 */
const risk = { maxOrderQty: 10, maxOrderValue: 1_000_000_000, maxPosition: 1_000, maxOpenOrders: 50, priceBandBps: 2_000, ordersPerMinute: 6_000 };

function capture(): { log: pino.Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { out.push(String(chunk)); done(); } });
  const log = pino({ level: 'info' }, sink);
  return { log, lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Sends raw bytes on a strategy's intent subject, as a buggy strategy could. */
async function sendRaw(nc: NatsConnection, subject: string, body: unknown): Promise<IntentReply> {
  const msg = await nc.request(subject, JSON.stringify(body), { timeout: 5_000 });
  const r = parseMsg(IntentReplySchema, msg.data);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

test("a 900 KB intent is refused at the door, and the next strategy's order is still taken and logged", async (t) => {
  const { log } = capture();
  const { nc, running } = await kiteBrokerOnSim(t, { name: 'hostile-size', strategies: [spec('flood', { risk }), spec('calm', { risk })], log, before: (sim) => sim.setPrice(INFY.token, 1500) });
  assert.equal((await sendWhenPriced(nc, placeIntent('calm', { orderType: 'LIMIT', limitPrice: 140_000 }))).status, 'accepted');

  // Under NATS's 1 MiB, so the server delivers it; once, its refusal event was too big to store.
  const huge = placeIntent('flood', { symbol: `NSE:${'X'.repeat(900 * 1024)}` });
  const refused = await sendRaw(nc, subjects.intent('flood'), huge);
  assert.equal(refused.status, 'denied');
  assert.equal(refused.status === 'denied' && refused.rule, 'invalid_payload');
  assert.ok(refused.status === 'denied' && refused.reason.length <= 1_024, 'the reason is bounded too');

  const after = await sendIntent(nc, placeIntent('calm', { orderType: 'LIMIT', limitPrice: 140_000 }));
  assert.equal(after.status, 'accepted', JSON.stringify(after));
  await eventually(() => running.events.pending() === 0, 'every event behind the big one is stored');
  const stored = await readLog(nc);
  assert.ok(stored.some((e) => e.event.intentId === after.intentId && e.event.kind === 'venue_write'), 'the next order is in the log');
  assert.ok(stored.every((e) => e.event.intentId !== huge.intentId), 'the refused payload never reached the log');
});

test('a symbol longer than any real one is refused by name, before any rule runs', async (t) => {
  const { log } = capture();
  const { nc } = await kiteBrokerOnSim(t, { name: 'hostile-symbol', strategies: [spec('flood', { risk })], log, before: (sim) => sim.setPrice(INFY.token, 1500) });
  const r = await sendRaw(nc, subjects.intent('flood'), placeIntent('flood', { symbol: `NSE:${'Y'.repeat(5_000)}` }));
  assert.equal(r.status === 'denied' && r.rule, 'invalid_payload');
  assert.match(r.status === 'denied' ? r.reason : '', /symbol/);
});

test('made-up strategy ids never become metric labels: the sender is the one the subject names', async (t) => {
  const { log } = capture();
  const { nc } = await kiteBrokerOnSim(t, { name: 'hostile-ids', strategies: [spec('flood', { risk })], log, before: (sim) => sim.setPrice(INFY.token, 1500) });
  const labels = async () => new Set((await metrics.intentsDeniedTotal.get()).values.map((v) => String(v.labels.strategy)));
  const before = await labels();
  for (let i = 0; i < 40; i++) {
    // On its own subject with another id in the body, and (an open server) on a made-up subject.
    const r1 = await sendRaw(nc, subjects.intent('flood'), placeIntent(`madeup${i}`));
    assert.equal(r1.status === 'denied' && r1.rule, 'strategy_mismatch');
    const r2 = await sendIntent(nc, placeIntent(`ghost${i}`));
    assert.equal(r2.status === 'denied' && r2.rule, 'unknown_strategy');
  }
  const grown = [...await labels()].filter((l) => !before.has(l));
  assert.ok(grown.every((l) => l === 'flood' || l === 'unknown'), `new label values: ${grown.join(', ')}`);
  const deadLabels = (await metrics.deadLettersTotal.get()).values.map((v) => String(v.labels.subject));
  for (let i = 0; i < 5; i++) await sendRaw(nc, subjects.intent(`junk${i}`), { not: 'an intent' });
  for (let i = 0; i < 5; i++) nc.publish(subjects.strategyState(`junk${i}`), JSON.stringify({ not: 'a state request' }));
  await eventually(async () => (await metrics.deadLettersTotal.get()).values.some((v) => v.labels.subject === subjects.strategyState('unknown') && v.value >= 5), 'the bad state requests dead-lettered');
  const newDead = (await metrics.deadLettersTotal.get()).values.map((v) => String(v.labels.subject)).filter((l) => !deadLabels.includes(l));
  assert.deepEqual(newDead.sort(), [subjects.strategyState('unknown'), subjects.intent('unknown')].sort(), `dead-letter labels: ${newDead.join(', ')}`);
});

test('a strategy that keeps sending refused intents: the log keeps the first few and a count, the counter counts all', async (t) => {
  const { log, lines } = capture();
  const { nc, running } = await kiteBrokerOnSim(t, {
    name: 'hostile-flood', strategies: [spec('flood', { risk })], log, before: (sim) => sim.setPrice(INFY.token, 1500),
    refusalLog: { perWindow: 5, windowMs: 60_000 },
  });
  const count = async () => (await metrics.intentsDeniedTotal.get()).values.filter((v) => v.labels.strategy === 'flood' && v.labels.rule === 'unknown_order').reduce((a, v) => a + v.value, 0);
  const before = await count();
  for (let i = 0; i < 30; i++) {
    const r = await sendIntent(nc, { action: 'modify', intentId: `mod${i}x${Date.now().toString(36)}`, strategyId: 'flood', ts: Date.now(), targetIntentId: 'none', qty: 1 });
    assert.equal(r.status, 'denied');
  }
  assert.equal(await count() - before, 30, 'the counter counts every refusal');
  const denied = () => lines().filter((l) => l.msg === 'intent denied' && l.strategy === 'flood');
  assert.equal(denied().length, 5, 'only the first five of the window are logged');
  running.broker.fence('test over');
  await running.broker.stop();
  const summary = lines().find((l) => l.msg === 'intent refusals not logged (rate limit of the log)');
  assert.equal(summary?.suppressed, 25, JSON.stringify(summary));
});
