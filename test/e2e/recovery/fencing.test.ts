import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/specs.ts';
import { requestParsed } from '../../../actors/bus.ts';
import { subjects } from '../../../actors/subjects.ts';
import { StrategyStateReplySchema, StrategyStateRequestSchema } from '../../../actors/messages.ts';
import { intentTag } from '../../../broker/kite/tag.ts';
import { INFY, placeIntent, sendIntent, sendWhenPriced, startActiveAndStandby } from '../../support/recovery-harness.ts';

/**
 * A standby broker takes over from a frozen one (SIGSTOP, as a long GC pause or a stalled VM
 * would), and the frozen one, woken (SIGCONT), never writes to the venue again: not the intents
 * that waited in its socket while it slept, not the ones the new leader has placed since. The
 * venue sees every order once. The failover time (SIGSTOP to the standby answering) is printed.
 */
test('a broker frozen past its lease is fenced: the standby takes over, and the woken broker writes nothing to the venue', async (t) => {
  const { sim, nc, a, b } = await startActiveAndStandby(t, { name: 'fencing-test', seed: 7, leaseTtlMs: 3_000, risk: { maxOrderQty: 10, maxOrderValue: 100_000_000, maxPosition: 100, maxOpenOrders: 20, priceBandBps: 1_000, ordersPerMinute: 600 } });
  // A resting order, so there is something a woken broker could cancel or modify too.
  const resting = placeIntent('s1', { qty: 1, orderType: 'LIMIT', limitPrice: 140_000 });
  const restingReply = await sendWhenPriced(nc, resting);
  assert.equal(restingReply.status, 'accepted', JSON.stringify(restingReply));
  const ordersBefore = sim.orders().length;

  const stoppedAt = Date.now();
  a.child.kill('SIGSTOP');
  // Sent while no broker answers: they wait in the frozen broker's socket, past their deadline.
  const gap = [placeIntent('s1', { qty: 1 }), placeIntent('s1', { qty: 1 })];
  const gapReplies = await Promise.allSettled(gap.map((i) => sendIntent(nc, i, 1_000)));
  for (const r of gapReplies) assert.equal(r.status, 'rejected', 'no broker answers in the gap');

  await b.waitFor('ready', 60_000);
  const first = placeIntent('s1', { qty: 1 });
  assert.equal((await sendWhenPriced(nc, first, 30_000)).status, 'accepted');
  process.stdout.write(`# failover: ${Date.now() - stoppedAt} ms from SIGSTOP of the active broker to an intent accepted by the standby (lease TTL 3000 ms)\n`);
  const afterTakeover = [placeIntent('s1', { qty: 1 }), placeIntent('s1', { qty: 1 })];
  for (const i of afterTakeover) assert.equal((await sendIntent(nc, i)).status, 'accepted');
  const leaderWrites = sim.orders().length;
  assert.equal(leaderWrites, ordersBefore + 1 + afterTakeover.length, 'the new leader placed what it accepted');

  a.child.kill('SIGCONT');
  // The woken broker now reads everything that waited in its socket: the gap's intents and the
  // copies of what the new leader placed. Give it time to act on all of it.
  await new Promise((r) => setTimeout(r, 4_000));
  assert.equal(sim.orders().length, leaderWrites, 'the woken broker placed nothing');
  for (const i of gap) assert.equal(sim.orders().filter((o) => o.tag === intentTag(i.intentId)).length, 0, 'an intent of the gap is never placed (its requester gave up)');
  for (const i of [first, ...afterTakeover]) assert.equal(sim.orders().filter((o) => o.tag === intentTag(i.intentId)).length, 1, 'placed once');
  assert.equal(sim.orders().find((o) => o.tag === intentTag(resting.intentId))?.status, 'OPEN', 'the resting order was not touched');
  // The woken broker left the queue groups: a strategy's positions come from the new leader only
  // (answered by the frozen one's memory, a strategy starting now would miss the leader's fills).
  const state = () => requestParsed(nc, subjects.strategyState('s1'), StrategyStateRequestSchema, {}, StrategyStateReplySchema, 2_000);
  const leaderState = await state();
  assert.equal(leaderState.positions.find((p) => p.symbol === INFY.symbol)?.qty, 1 + afterTakeover.length, 'the new leader\'s position: its own fills');
  for (let i = 0; i < 12; i++) assert.deepEqual(await state(), leaderState, 'every strategy-state answer is the leader\'s');
  // No kill level from the woken broker: its reconciliation against a stale log raises nothing.
  await eventually(async () => (await sendIntent(nc, placeIntent('s1', { qty: 1 }))).status === 'accepted', 'the new leader to keep trading');
});
