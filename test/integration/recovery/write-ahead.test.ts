import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { EventLog } from '../../../broker/event-log.ts';
import type { LogEvent } from '../../../broker/events/schema.ts';
import { spec } from '../../support/specs.ts';
import { kiteBrokerOnSim } from '../../support/kite-broker.ts';
import { INFY, placeIntent, readLog, sendWhenPriced } from '../../support/recovery-harness.ts';

/**
 * The write-ahead of an order: the broker prepares the order while the log stores its
 * `venue_write`, and the exchange sees the order only after the log holds it. A log that
 * cannot store it means no order at all.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const strategy = spec('wal', { risk: { maxOrderQty: 10, maxOrderValue: 1_000_000_000, maxPosition: 1_000, maxOpenOrders: 50, priceBandBps: 2_000, ordersPerMinute: 6_000 } });

/** A log whose `venue_write` appends are held (then stored late) or refused. */
class HeldLog extends EventLog {
  storedAt: number[] = [];
  constructor(nc: ConstructorParameters<typeof EventLog>[0], private readonly mode: { holdMs: number } | 'refuse') {
    super(nc, log);
  }
  override append(ev: LogEvent, msgId?: string): Promise<number> {
    if (ev.kind !== 'venue_write') return super.append(ev, msgId);
    if (this.mode === 'refuse') return Promise.reject(new Error('stream unavailable'));
    const { holdMs } = this.mode;
    return super.append(ev, msgId).then(async (seq) => {
      await new Promise((r) => setTimeout(r, holdMs));
      this.storedAt.push(performance.now());
      return seq;
    });
  }
}

async function setUp(t: { after: (fn: () => Promise<void>) => void }, mode: ConstructorParameters<typeof HeldLog>[1]) {
  const arrivals: number[] = [];
  let held!: HeldLog;
  const { nc, sim } = await kiteBrokerOnSim(t, {
    name: 'wal-test', strategies: [strategy], log,
    sim: { observer: { requestReceived: ({ method, path, at }) => { if (method === 'POST' && path === '/orders/regular') arrivals.push(at); } } },
    before: (s) => s.setPrice(INFY.token, 1500),
    eventLog: (c) => (held = new HeldLog(c, mode)),
  });
  return { nc, sim, arrivals, held: () => held };
}

test('the exchange sees an order only after the log has stored its write', async (t) => {
  const { nc, sim, arrivals, held } = await setUp(t, { holdMs: 150 });
  const reply = await sendWhenPriced(nc, placeIntent('wal', { orderType: 'LIMIT', limitPrice: 150_000 }));
  assert.equal(reply.status, 'accepted', JSON.stringify(reply));
  assert.equal(sim.orders().length, 1);
  assert.equal(arrivals.length, 1);
  assert.ok(arrivals[0]! >= held().storedAt[0]!, `order arrived ${(held().storedAt[0]! - arrivals[0]!).toFixed(1)} ms before its write-ahead was stored`);
});

test('a write the log cannot store is never sent: the intent is denied and the log says why', async (t) => {
  const { nc, sim, arrivals } = await setUp(t, 'refuse');
  const intent = placeIntent('wal', { orderType: 'LIMIT', limitPrice: 150_000 });
  const reply = await sendWhenPriced(nc, intent);
  assert.equal(reply.status === 'denied' && reply.rule, 'event_log_unavailable', JSON.stringify(reply));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(arrivals, [], 'no order request reached the exchange');
  assert.equal(sim.orders().length, 0);
  const mine = (await readLog(nc)).filter((e) => e.event.intentId === intent.intentId).map((e) => e.event);
  assert.deepEqual(mine.map((e) => e.kind), ['intent', 'decision', 'venue_answer', 'decision']);
  const last = mine.at(-1)!;
  assert.ok(last.kind === 'decision' && last.decision === 'denied' && last.rule === 'event_log_unavailable');
});

test('an order the venue would refuse by its rules (price off the tick grid) is denied before any write', async (t) => {
  const { nc, sim, arrivals } = await setUp(t, { holdMs: 0 });
  const intent = placeIntent('wal', { orderType: 'LIMIT', limitPrice: 150_003 });
  const reply = await sendWhenPriced(nc, intent);
  assert.equal(reply.status === 'denied' && reply.rule, 'tick_size', JSON.stringify(reply));
  assert.deepEqual(reply.status === 'denied' && reply.figures, { limit: 5, actual: 150_003 });
  assert.deepEqual(arrivals, []);
  assert.equal(sim.orders().length, 0);
  const kinds = (await readLog(nc)).filter((e) => e.event.intentId === intent.intentId).map((e) => e.event.kind);
  assert.deepEqual(kinds, ['intent', 'decision'], 'no venue write was logged');
});
