import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errors as natsErrors } from '@nats-io/transport-node';
import { eventually } from '../../support/specs.ts';
import type { IntentReply, PlaceIntent } from '../../../actors/messages.ts';
import { intentTag } from '../../../broker/kite/tag.ts';
import { invariantViolations, placeIntent, sendIntent, sendWhenPriced, startActiveAndStandby } from '../../support/recovery-harness.ts';

/**
 * Two broker processes; the active one is killed (SIGKILL) with intents on their way. Every
 * intent sent in the gap (no broker holds the lease, then the standby replays and reconciles)
 * is answered at once with `broker_unavailable` (no timeouts), and every intent of the test,
 * sent again with the same id once the standby trades, is placed exactly once at the venue.
 */
test('a failover gap answers broker_unavailable promptly, and every intent resent with its id is placed exactly once', async (t) => {
  const { sim, nc, a, b } = await startActiveAndStandby(t, { name: 'failover-gap-test', seed: 11, leaseTtlMs: 2_000, risk: { maxOrderQty: 10, maxOrderValue: 100_000_000, maxPosition: 100_000, maxOpenOrders: 100_000, priceBandBps: 1_000, ordersPerMinute: 60_000 } });
  // Resting orders: each intent is one order at the venue, easy to count by its tag.
  const resting = (): PlaceIntent => placeIntent('s1', { orderType: 'LIMIT', limitPrice: 140_000 });
  assert.equal((await sendWhenPriced(nc, resting())).status, 'accepted');

  // On their way as the active broker dies: some answered, some lost with it.
  const inflight = Array.from({ length: 4 }, resting);
  const inflightReplies = inflight.map((i) => sendIntent(nc, i, 2_000).catch((e: Error) => e));
  await nc.flush();
  await a.kill('SIGKILL');

  // The gap: a fresh intent every 25 ms until the standby decides one.
  const gap: { intent: PlaceIntent; reply: IntentReply }[] = [];
  let decided: IntentReply | undefined;
  const deadline = Date.now() + 60_000;
  while (!decided && Date.now() < deadline) {
    const intent = resting();
    let reply: IntentReply;
    try {
      reply = await sendIntent(nc, intent, 2_000);
    } catch (e) {
      // What the strategy SDK turns into a denial (actors/strategy-actor.ts): nobody listens.
      assert.ok(e instanceof natsErrors.RequestError && e.isNoResponders(), `an intent in the gap is answered, not timed out: ${(e as Error).message}`);
      reply = { status: 'denied', intentId: intent.intentId, rule: 'broker_unavailable', reason: 'no responders' };
    }
    if (reply.status === 'denied' && reply.rule === 'broker_unavailable') gap.push({ intent, reply });
    else decided = reply;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(decided, 'the standby decides an intent within a minute');
  await Promise.all(inflightReplies);
  assert.ok(decided.status === 'accepted' || decided.rule === 'no_reference_price', `the first decision after the gap: ${JSON.stringify(decided)}`);
  assert.ok(gap.length > 0, 'intents were sent in the gap');
  const fromStartingBroker = gap.filter((g) => g.reply.status === 'denied' && g.reply.reason !== 'no responders').length;
  process.stdout.write(`# gap: ${gap.length} intents answered broker_unavailable (${fromStartingBroker} by the standby while it replayed and reconciled)\n`);
  await b.waitFor('ready', 30_000);

  // Every intent sent again with its id: one order each, whatever happened to the first try;
  // none for a write the dead broker accepted but never sent (reconciliation found it absent).
  for (const intent of [...inflight, ...gap.map((g) => g.intent)]) {
    const r = await sendIntent(nc, intent);
    const atVenue = sim.orders().filter((o) => o.tag === intentTag(intent.intentId)).length;
    if (r.status === 'denied' && r.rule === 'not_landed' && inflight.includes(intent)) {
      assert.equal(atVenue, 0, `${intent.intentId}: not_landed, and no order at the venue`);
      continue;
    }
    assert.equal(r.status, 'accepted', `${intent.intentId} resent: ${JSON.stringify(r)}`);
    assert.equal(atVenue, 1, `${intent.intentId}: exactly one venue order`);
  }
  await eventually(async () => (await invariantViolations(nc, sim)).problems.length === 0, 'the log and the venue to agree (one order per intent)', 20_000);
});
