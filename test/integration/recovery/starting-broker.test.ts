import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { errors as natsErrors } from '@nats-io/transport-node';
import { connectBus, requestParsed } from '../../../actors/bus.ts';
import { subjects } from '../../../actors/subjects.ts';
import { LastTicksReplySchema, LastTicksRequestSchema, StrategyStateReplySchema, StrategyStateRequestSchema, type Tick } from '../../../actors/messages.ts';
import { ensureEventStream } from '../../../broker/event-log.ts';
import { kiteLimits } from '../../../broker/limiter/limits.ts';
import { startNatsServer } from '../../support/nats-server.ts';
import { startBrokerActor, type TestBroker } from '../../support/broker-actor.ts';
import { FakeVenue } from '../../support/fake-venue.ts';
import { spec, eventually } from '../../support/specs.ts';
import { placeIntent, readLog, sendIntent } from '../../support/recovery-harness.ts';

/**
 * A broker between taking the lease and being ready (replaying its log, starting its venues,
 * reconciling: what a standby goes through right after a failover) answers every intent at once
 * with `broker_unavailable`, judges and logs none of them, and answers no other request; the
 * same intent ids sent again once it is ready are placed once each.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const LAST = 150_000;

/** A venue whose reconciliation read waits until the test lets it go: the broker stays "starting". */
class SlowToReconcile extends FakeVenue {
  private release!: () => void;
  private readonly held = new Promise<void>((r) => (this.release = r));
  reconcileStarted = false;
  override async positions() {
    this.reconcileStarted = true;
    await this.held;
    return [];
  }
  finish(): void {
    this.release();
  }
  override async start(): Promise<void> {
    // A price, so a LIMIT order passes the price band once the broker judges it.
    this.emit('tick', { symbol: 'NSE:INFY', last: LAST, ts: Date.now() } as Tick);
  }
}

const isNoResponders = (e: unknown) => e instanceof natsErrors.RequestError && e.isNoResponders();

test('a broker still replaying and reconciling answers broker_unavailable, logs no decision, serves no state, and places each resent intent once when ready', async (t) => {
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name: 'starting-broker-test' });
  await ensureEventStream(nc);
  const venue = new SlowToReconcile('kite');
  const strategy = spec('s1', { risk: { maxOrderQty: 10, maxOrderValue: 100_000_000, maxPosition: 100, maxOpenOrders: 50, priceBandBps: 500, ordersPerMinute: 600 } });
  let running: TestBroker<SlowToReconcile> | undefined;
  const starting = startBrokerActor(kiteLimits(), () => venue, { natsUrl: nats.url, strategies: [strategy], log }).then((r) => (running = r));
  t.after(async () => {
    venue.finish();
    await starting.catch(() => undefined);
    await running?.stop().catch(() => undefined);
    await nc.close();
    await nats.cleanup();
  });
  await eventually(() => venue.reconcileStarted, 'the broker to be reconciling at start');

  const gap = [placeIntent('s1', { orderType: 'LIMIT', limitPrice: LAST }), placeIntent('s1', { orderType: 'LIMIT', limitPrice: LAST })];
  for (const intent of gap) {
    const r = await sendIntent(nc, intent, 2_000);
    assert.equal(r.status, 'denied', JSON.stringify(r));
    assert.equal(r.status === 'denied' && r.rule, 'broker_unavailable', JSON.stringify(r));
  }
  // The same id again, still starting: the same answer, not a stored refusal.
  const again = await sendIntent(nc, gap[0]!, 2_000);
  assert.equal(again.status === 'denied' && again.rule, 'broker_unavailable');
  // Not yet reconciled: a strategy's positions and last ticks are not answered from this broker.
  await assert.rejects(requestParsed(nc, subjects.strategyState('s1'), StrategyStateRequestSchema, {}, StrategyStateReplySchema, 1_000), isNoResponders, 'strategy state is not served before reconciliation');
  await assert.rejects(requestParsed(nc, subjects.lastTicks(), LastTicksRequestSchema, { venue: 'kite', symbols: ['NSE:INFY'] }, LastTicksReplySchema, 1_000), isNoResponders, 'last ticks are not served before reconciliation');
  assert.equal(venue.writes.length, 0, 'nothing was sent in the gap');

  venue.finish();
  await starting;
  for (const intent of gap) {
    const r = await sendIntent(nc, intent);
    assert.equal(r.status, 'accepted', `the resent ${intent.intentId} is judged once ready: ${JSON.stringify(r)}`);
    const dup = await sendIntent(nc, intent);
    assert.equal(dup.status === 'accepted' && dup.duplicate, true, 'a second resend is the same order');
  }
  assert.deepEqual(venue.writes.filter((w) => w.op === 'place').map((w) => w.op === 'place' && w.req.intentId).sort(), gap.map((i) => i.intentId).sort(), 'each intent of the gap placed exactly once');
  const state = await requestParsed(nc, subjects.strategyState('s1'), StrategyStateRequestSchema, {}, StrategyStateReplySchema, 2_000);
  assert.equal(state.openOrders.length, 2, 'state is served once ready');
  await running!.events.flush();
  const decisions = (await readLog(nc)).filter((e) => e.event.kind === 'decision').map((e) => e.event.kind === 'decision' && `${e.event.intentId}:${e.event.decision}`);
  assert.deepEqual(decisions.sort(), gap.map((i) => `${i.intentId}:accepted`).sort(), 'one decision per intent, none for the answers in the gap');
});
