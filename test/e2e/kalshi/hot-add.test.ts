import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startNatsServer } from '../../support/nats-server.ts';
import { fixture, eventually } from '../../support/specs.ts';
import { renderRegistry, type RegistryEntry } from '../../support/registry.ts';
import { startSystem } from '../../../supervisor/system.ts';
import { startKalshiSim } from '../../../exchanges/kalshi/index.ts';
import { connectBus, subscribeParsed } from '../../../actors/bus.ts';
import { subjects } from '../../../actors/subjects.ts';
import { OrderUpdateSchema, type OrderUpdate } from '../../../actors/messages.ts';

/**
 * With a Kalshi account configured, Kalshi runs from the start even while no strategy trades
 * there, so the first Kalshi strategy is added by hot reload like any other: the Kite strategy
 * already running is not touched, and the new one trades on the market's snapshot, the one
 * tick a still market sends.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
const MARKET = 'KXFED-26DEC-T4.00';

const kiteEntry: RegistryEntry = { id: 'kiteonly', module: fixture('recorder'), instruments: ['NSE:INFY'] };
const kalshiEntry: RegistryEntry = {
  id: 'fedbuyer', module: fixture('recorder'), venue: 'kalshi', instruments: [MARKET],
  params: { placeOnTick: 1, side: 'BUY', qty: 100, through: 200 },
  risk: { maxOrderQty: 500, maxOrderValue: 100000, maxPosition: 1000, maxOpenOrders: 3, priceBandBps: 1000 },
};

/**
 * A system with a Kalshi account on a still built-in exchange, started on `entries`; the
 * registry file is returned so a test can rewrite it and reload. Watches fedbuyer's orders.
 */
async function startOnStillMarket(t: { after: (fn: () => Promise<void>) => void }, entries: RegistryEntry[]) {
  const nats = await startNatsServer();
  // No market activity: the book's snapshot, sent when the broker subscribes, is the only tick.
  const exchange = await startKalshiSim({ seed: 7 });
  const dir = await mkdtemp(join(tmpdir(), 'orch-kalshi-add-'));
  const cfg = join(dir, 'strategies.yaml');
  await writeFile(cfg, renderRegistry(entries));
  const sys = await startSystem({
    configFile: cfg, log, natsUrl: nats.url, stateDir: dir, metricsPort: false, simTickIntervalMs: 100, logLevel: 'silent', hotReload: false,
    kalshi: { restUrl: exchange.restUrl, wsUrl: exchange.wsUrl, keyId: exchange.keyId, privateKey: { path: exchange.privateKeyPath }, tier: 'basic' },
  });
  const nc = await connectBus({ servers: nats.url, name: 'observer' });
  t.after(async () => {
    await nc.close();
    await sys.stop();
    await exchange.close();
    await nats.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  const updates: OrderUpdate[] = [];
  subscribeParsed(nc, subjects.orderUpdatesOf('fedbuyer'), OrderUpdateSchema, (u) => { updates.push(u); });
  await nc.flush();
  const ticksOf = async (id: string) => (await sys.supervisor.view()).find((a) => a.id === id)?.health?.ticks ?? 0;
  return { sys, cfg, updates, ticksOf };
}

test('the first Kalshi strategy added by hot reload trades, and the running Kite strategy is not restarted', async (t) => {
  const { sys, cfg, updates, ticksOf } = await startOnStillMarket(t, [kiteEntry]);
  const kiteTicks = () => ticksOf('kiteonly');
  const ticksBefore = await eventually(async () => { const n = await kiteTicks(); return n > 0 ? n : undefined; }, 'the Kite strategy sees ticks');

  await writeFile(cfg, renderRegistry([kiteEntry, kalshiEntry]));
  const r = await sys.reloader.reload();
  assert.equal(r.result, 'applied', JSON.stringify(r));
  assert.deepEqual(r.started, ['fedbuyer']);
  assert.deepEqual(r.restarted, []);
  assert.deepEqual(r.unchanged, ['kiteonly']);

  const first = await eventually(() => updates.find((u) => u.venueOrderId !== 'none'), 'the Kalshi strategy\'s first order at the exchange');
  assert.equal(first.venue, 'kalshi');
  assert.equal(first.symbol, MARKET);
  // The same worker: its tick count went on from where it was (a restarted one starts at 0).
  assert.ok((await kiteTicks()) > ticksBefore, 'the Kite strategy kept its worker and its ticks');
});

test('on a still market a strategy gets the last tick at start, and so does one added beside it, which trades', async (t) => {
  // The watcher never trades, so the market stays still: its snapshot, sent when the broker
  // subscribes (before any worker listens), is the only tick it sends; and adding the second
  // strategy subscribes nothing new at the exchange. Both get the market from the broker's last tick.
  const watcher: RegistryEntry = { ...kalshiEntry, id: 'fedwatcher', params: {} };
  const { sys, cfg, updates, ticksOf } = await startOnStillMarket(t, [watcher]);
  await eventually(async () => ((await ticksOf('fedwatcher')) > 0 ? true : undefined), 'the watcher has the market');
  assert.equal(await ticksOf('fedwatcher'), 1, 'the market is still: the watcher has seen only the snapshot');

  await writeFile(cfg, renderRegistry([watcher, kalshiEntry]));
  const r = await sys.reloader.reload();
  assert.equal(r.result, 'applied', JSON.stringify(r));
  assert.deepEqual(r.started, ['fedbuyer']);

  const first = await eventually(() => updates.find((u) => u.venueOrderId !== 'none'), "the new strategy's order at the exchange");
  assert.equal(first.symbol, MARKET);
});

test('a reload naming a Kalshi market Kalshi does not list is refused with its file and line; the running strategies are untouched', async (t) => {
  const watcher: RegistryEntry = { ...kalshiEntry, id: 'fedwatcher', params: {} };
  const { sys, cfg, ticksOf } = await startOnStillMarket(t, [kiteEntry, watcher]);
  const kiteTicks = await eventually(async () => { const n = await ticksOf('kiteonly'); return n > 0 ? n : undefined; }, 'the Kite strategy sees ticks');
  await eventually(async () => ((await ticksOf('fedwatcher')) > 0 ? true : undefined), 'the watcher has the market');
  const before = await sys.supervisor.view();
  // Every start, stop and removal the reload asks of the supervisor.
  const asked: string[] = [];
  const sup = sys.supervisor as unknown as Record<'startChild' | 'stopChild' | 'removeChild', (...a: unknown[]) => Promise<unknown>>;
  for (const m of ['startChild', 'stopChild', 'removeChild'] as const) {
    const orig = sup[m].bind(sys.supervisor);
    sup[m] = (...a: unknown[]) => { asked.push(m); return orig(...a); };
  }

  // A new strategy on an unknown ticker, and the running Kalshi one given a second, unknown ticker.
  const ghost: RegistryEntry = { ...kalshiEntry, id: 'ghost', instruments: ['KXFED-26DEC-T9.99'] };
  const attempts: Array<[RegistryEntry[], string]> = [
    [[kiteEntry, watcher, ghost], 'strategies[2].instruments[0]'],
    [[kiteEntry, { ...watcher, instruments: [MARKET, 'KXNOPE-26DEC-T1.00'] }], 'strategies[1].instruments[1]'],
  ];
  for (const [entries, field] of attempts) {
    await writeFile(cfg, renderRegistry(entries));
    const bad = entries.at(-1)!.instruments.at(-1)!;
    const line = renderRegistry(entries).split('\n').findIndex((l) => l.includes(bad)) + 1;
    const r = await sys.reloader.reload();
    assert.equal(r.result, 'invalid', JSON.stringify(r));
    assert.equal(r.error?.file, cfg);
    assert.equal(r.error?.field, field);
    assert.equal(r.error?.line, line);
    assert.match(r.error?.message ?? '', new RegExp(`is not in the kalshi instrument list`));
    assert.ok(r.error?.message.includes(bad));
    assert.deepEqual(r.unchanged, ['kiteonly', 'fedwatcher']);
  }
  assert.deepEqual(asked, [], 'nothing started, stopped or removed');
  // The same workers, still running.
  const after = await sys.supervisor.view();
  assert.deepEqual(after.map((a) => [a.id, a.status, a.restarts]), before.map((a) => [a.id, a.status, a.restarts]));
  assert.equal(after.some((a) => a.id === 'ghost'), false, 'the refused strategy never started');
  assert.ok((await ticksOf('kiteonly')) >= kiteTicks, 'the Kite strategy kept its worker and its ticks');
  assert.equal(sys.reloader.current().strategies.find((s) => s.id === 'fedwatcher')?.instruments.length, 1, 'the running registry is the old one');
});
