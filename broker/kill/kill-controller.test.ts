import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { TestClock } from '../../actors/clock.ts';
import type { IntentReply, OrderState, PlaceIntent, Venue } from '../../actors/messages.ts';
import { KillController, type ArmedDeps, type FlattenReport } from './kill-controller.ts';
import { KALSHI_WORST_PRICE } from './flatten.ts';
import type { KillStore } from './kill-store.ts';
import { ACTIVE_ENTRY } from './levels.ts';
import type { OrderRecord } from '../order-book.ts';
import type { VenueAdapter, VenuePosition } from '../venue.ts';
import { FlattenSettingsSchema } from '../../config/flatten-settings.ts';

/**
 * The flatten follower with a TestClock, a scripted venue and broker: what it sends per venue,
 * that a resting closing order is cancelled (and the cancel confirmed) before another is sent,
 * and that it gives up, reports and sets the alert's gauge after its last re-price.
 */
type Script = { fill: (intent: PlaceIntent, n: number) => boolean; cancelConfirms: boolean };

function rig(venue: Venue, start: number, script: Script) {
  const clock = new TestClock();
  const log: string[] = [];
  const sent: { intent: PlaceIntent; marketProtection: number | undefined }[] = [];
  const records = new Map<string, OrderRecord>();
  let position = start;
  const record = (intent: PlaceIntent, state: OrderState): OrderRecord => ({
    intentId: intent.intentId, strategyId: intent.strategyId, venue, symbol: intent.symbol, side: intent.side, qty: intent.qty,
    venueOrderId: `v${records.size + 1}`, state, venueStatus: state, filledQty: state === 'filled' ? intent.qty : 0, createdTs: 0, updatedTs: 0,
  });
  const adapter = {
    venue,
    positions: async (): Promise<VenuePosition[]> => (position === 0 ? [] : [{ symbol: 'SYM', qty: position, avgPrice: 100 }]),
    openOrders: async () => [],
    cancel: async () => undefined,
  } as unknown as VenueAdapter;
  const deps: ArmedDeps = {
    broker: {
      cancelAll: async () => 0,
      placeForKill: async (intent: PlaceIntent, marketProtection?: number): Promise<IntentReply> => {
        sent.push({ intent, marketProtection });
        const fills = script.fill(intent, sent.length);
        log.push(`place ${sent.length}${fills ? ' filled' : ' rests'}`);
        if (fills) position += intent.side === 'SELL' ? -intent.qty : intent.qty;
        records.set(intent.intentId, record(intent, fills ? 'filled' : 'open'));
        return { status: 'accepted', intentId: intent.intentId };
      },
      cancelForKill: async (intentId: string) => {
        log.push(`cancel ${[...records.keys()].indexOf(intentId) + 1}`);
        if (script.cancelConfirms) records.get(intentId)!.state = 'cancelled';
        return script.cancelConfirms;
      },
      position: () => position,
      book: { open: () => [...records.values()].filter((r) => r.state === 'open'), get: (id: string) => records.get(id) },
    },
    strategies: () => [{ id: 's1', venue, instruments: ['SYM'] }],
    stopActors: async () => undefined,
  };
  const latched = { global: { ...ACTIVE_ENTRY, level: 4 as const, revision: 1 }, strategies: {}, revision: 1 };
  const store = { readThenWatch: async () => ({ state: latched, watch: { stop() {}, done: Promise.resolve() } }) } as unknown as KillStore;
  const controller = new KillController({
    store, venues: [adapter], clock, log: pino({ level: 'silent' }),
    flatten: FlattenSettingsSchema.parse({ marketProtection: 2.5, followMs: 1_000, maxReprices: 2 }),
  });
  return {
    sent, log, controller,
    /** Starts with level 4 latched, arms, and advances the clock until the flatten reports. */
    async run(): Promise<FlattenReport> {
      await controller.start();
      controller.arm(deps);
      for (let i = 0; i < 400 && !controller.lastFlatten; i++) await clock.advance(50);
      assert.ok(controller.lastFlatten, 'the flatten finished');
      return controller.lastFlatten;
    },
  };
}

test('Kite: closing orders are protected MARKET orders; one left resting is cancelled before the remainder is re-priced', async () => {
  const r = rig('kite', 10, { fill: (_i, n) => n === 2, cancelConfirms: true });
  const report = await r.run();
  assert.deepEqual(r.log, ['place 1 rests', 'cancel 1', 'place 2 filled']);
  assert.ok(r.sent.every((s) => s.intent.orderType === 'MARKET' && s.marketProtection === 2.5 && s.intent.side === 'SELL' && s.intent.qty === 10));
  assert.equal(report.flat, true);
  assert.equal(report.orders, 2);
});

test('Kalshi: closing orders are limits at the worst allowed price', async () => {
  const r = rig('kalshi', -400, { fill: () => true, cancelConfirms: true });
  const report = await r.run();
  assert.equal(report.flat, true);
  assert.deepEqual(r.sent.map((s) => [s.intent.orderType, s.intent.side, s.intent.limitPrice, s.intent.qty]), [['LIMIT', 'BUY', KALSHI_WORST_PRICE.BUY, 400]]);
});

test('after maxReprices the flatten gives up, reports what is left and sets orch_flatten_unfinished', async () => {
  const r = rig('kite', 10, { fill: () => false, cancelConfirms: true });
  const report = await r.run();
  assert.deepEqual(r.log, ['place 1 rests', 'cancel 1', 'place 2 rests', 'cancel 2', 'place 3 rests', 'cancel 3']);
  assert.equal(report.flat, false);
  assert.deepEqual(report.remaining, [{ venue: 'kite', symbol: 'SYM', qty: 10 }]);
  const { registry } = await import('../../actors/metrics.ts');
  const gauge = (await registry.getSingleMetric('orch_flatten_unfinished')!.get()).values.find((v) => v.labels.venue === 'kite');
  assert.equal(gauge?.value, 1);
});

test('a closing order whose cancel is not confirmed is never followed by another (it could close the position twice)', async () => {
  const r = rig('kite', 10, { fill: () => false, cancelConfirms: false });
  const report = await r.run();
  assert.deepEqual(r.log, ['place 1 rests', 'cancel 1']);
  assert.equal(report.flat, false);
});
