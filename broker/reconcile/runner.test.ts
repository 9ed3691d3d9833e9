import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { TestClock } from '../../actors/clock.ts';
import { emptyProjection } from '../projection/projection.ts';
import type { ReconcileReport } from '../events/schema.ts';
import type { VenueAdapter, VenueOrder } from '../venue.ts';
import { metrics } from '../../actors/metrics.ts';
import { ReconcileRunner, historyQuery } from './runner.ts';

const log = pino({ level: 'silent' });

/** An adapter whose order book read hangs until the test lets it answer. */
function slowAdapter() {
  let answer!: (orders: VenueOrder[]) => void;
  const reading = new Promise<VenueOrder[]>((r) => { answer = r; });
  let asked!: () => void;
  const askedP = new Promise<void>((r) => { asked = r; });
  const adapter = {
    venue: 'kite',
    orders: () => { asked(); return reading; },
    positions: async () => [],
  } as unknown as VenueAdapter;
  return { adapter, answer, asked: askedP };
}

function runner(adapter: VenueAdapter, reports: ReconcileReport[]) {
  return new ReconcileRunner({
    clock: new TestClock(0),
    log,
    adapters: [adapter],
    host: {
      projection: () => emptyProjection(),
      inflight: () => new Set(),
      apply: () => undefined,
      raiseKill: async () => undefined,
      report: (r) => reports.push(r),
    },
  });
}

test('stop waits for a reconciliation under way, so its report is not sent into a closed bus', async () => {
  const slow = slowAdapter();
  const reports: ReconcileReport[] = [];
  const r = runner(slow.adapter, reports);
  const run = r.run(slow.adapter, 'operator');
  await slow.asked;
  let stopped = false;
  const stopping = r.stop().then(() => { stopped = true; });
  await new Promise((res) => setImmediate(res));
  assert.equal(stopped, false, 'stop returned while a run was still reading the venue');
  slow.answer([]);
  await stopping;
  assert.equal(reports.length, 1);
  assert.equal(reports[0]!.result, 'ok');
  assert.equal((await run).result, 'ok');
});

test('a periodic run whose report throws is logged, not left as an unhandled rejection', async () => {
  const clock = new TestClock(0);
  const adapter = { venue: 'kite', orders: async () => [], positions: async () => [] } as unknown as VenueAdapter;
  const errors: unknown[] = [];
  const r = new ReconcileRunner({
    clock,
    log: { ...log, info: () => undefined, warn: () => undefined, error: (o: unknown) => errors.push(o) } as unknown as typeof log,
    adapters: [adapter],
    intervalMs: 1_000,
    host: {
      projection: () => emptyProjection(),
      inflight: () => new Set(),
      apply: () => undefined,
      raiseKill: async () => undefined,
      report: () => { throw new Error('connection closed'); },
    },
  });
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    r.startPeriodic();
    await clock.advance(1_000);
    for (let i = 0; i < 5; i++) await new Promise((res) => setImmediate(res));
    await r.stop();
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.deepEqual(unhandled, []);
  assert.equal(errors.length, 1);
});

test('a run that fails to read the venue is an error: reported as such, orch_reconcile_failing set, no kill raised, the last differences kept', async () => {
  const venue = 'kalshi';
  const gaugeOf = async (name: string) => (await metrics[name === 'failing' ? 'reconcileFailing' : 'reconcileDifferences'].get()).values.find((v) => v.labels.venue === venue)?.value;
  metrics.reconcileDifferences.set({ venue }, 3);
  let fail = true;
  const adapter = {
    venue,
    orders: async () => { if (fail) throw new Error('kalshi request timed out after 1000 ms'); return []; },
    positions: async () => [],
  } as unknown as VenueAdapter;
  const reports: ReconcileReport[] = [];
  const kills: unknown[] = [];
  const r = new ReconcileRunner({
    clock: new TestClock(0), log, adapters: [adapter],
    host: { projection: () => emptyProjection(), inflight: () => new Set(), apply: () => undefined, raiseKill: async (_v, d) => void kills.push(d), report: (x) => reports.push(x) },
  });
  const failed = await r.run(adapter, 'periodic');
  assert.equal(failed.result, 'error');
  assert.match(failed.error ?? '', /timed out/);
  assert.deepEqual(kills, []);
  assert.equal(await gaugeOf('failing'), 1);
  assert.equal(await gaugeOf('differences'), 3, 'a failed run compared nothing, so the last count stands');
  fail = false;
  assert.equal((await r.run(adapter, 'periodic')).result, 'ok');
  assert.equal(await gaugeOf('failing'), 0);
  assert.equal(await gaugeOf('differences'), 0);
});

test('the venue history is read from the log\'s last event, or from an older unfinished write with no venue id, less the margin; every unfinished order is asked for', () => {
  const p = emptyProjection();
  const place = (intentId: string, ts: number) => ({ action: 'place' as const, intentId, strategyId: 's', ts, venue: 'kalshi' as const, symbol: 'KX', side: 'BUY' as const, qty: 100, orderType: 'LIMIT' as const, limitPrice: 5_000 });
  p.book.register(place('bound', 1_000), 1_000);
  p.book.bind('bound', 'o1');
  p.book.register(place('inflight', 40_000), 40_000);
  p.book.register(place('kiteOne', 10), 10);
  p.book.get('kiteOne')!.venue = 'kite';
  p.lastTs = 90_000;
  const q = historyQuery(p, 'kalshi', 100_000, 5_000);
  assert.equal(q.sinceMs, 35_000, 'the in-flight write (40 s) is older than the last event (90 s)');
  assert.deepEqual(q.open, [{ intentId: 'bound', venueOrderId: 'o1' }, { intentId: 'inflight' }]);
  p.book.bind('inflight', 'o2');
  assert.equal(historyQuery(p, 'kalshi', 100_000, 5_000).sinceMs, 85_000, 'bound orders are looked up by id: the last event decides');
  assert.equal(historyQuery(emptyProjection(), 'kalshi', 100_000, 5_000).sinceMs, 95_000, 'an empty log looks back only the margin');
});
