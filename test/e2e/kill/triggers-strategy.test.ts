import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/specs.ts';
import { readEvents } from '../../../broker/event-log.ts';
import { renderRegistry, type RegistryEntry } from '../../support/registry.ts';
import { join } from 'node:path';
import { startHarness, probe, tripped, log, type Harness } from '../../support/kill-harness.ts';
import { startStrategiesHost, type StrategiesHost } from '../../../supervisor/strategies-host.ts';
import { scrape } from '../../support/scrape.ts';

/**
 * Strategy-scoped automated triggers, each from a scenario on a whole running system (its own
 * nats-server, the built-in exchange, strategies in real workers), never from a direct call.
 * Each trip latches level 1 for that strategy only, with the trigger and figures, and is logged.
 */
async function scenario(entries: RegistryEntry[], run: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startHarness(renderRegistry(entries));
  try {
    await run(h);
  } finally {
    await h.close();
  }
}

async function loggedKill(h: Harness, by: string) {
  return eventually(async () => {
    for await (const e of readEvents(h.nc)) if (e.event.kind === 'kill' && e.event.by === by) return e.event;
    return undefined;
  }, `a kill event by ${by} in the log`);
}

test('a runaway strategy placing on every tick is halted by its intent rate, and its orders are cancelled', async () => {
  await scenario([probe('runner', 'NSE:INFY', { placeEvery: 1 }, { killTriggers: { maxIntentsPer10s: 5 } }), probe('calm', 'NSE:TCS', { restOnTick: 1, restCount: 1 })], async (h) => {
    const { entry, broadcast } = await tripped(h, 'runner', 'runaway_orders');
    assert.equal(entry.level, 1);
    assert.equal(broadcast.figures?.limit, 5);
    assert.ok(Number(broadcast.figures?.actual) > 5);
    await eventually(() => h.sys.broker.book.open('runner').length === 0, "runner's resting orders cancelled");
    assert.equal(h.sys.killStore.current().global.level, 0, 'the other strategies trade on');
    assert.equal(h.sys.killStore.current().strategies.calm, undefined);
    const ev = await loggedKill(h, 'automation:runaway_orders');
    assert.match(ev.reason, /runaway orders: \d+ against limit 5 \(strategy runner\)/);
    assert.equal(ev.kind === 'kill' && ev.figures?.limit, 5, 'the trip figures are in the log');
  });
});

test('a reject storm at the exchange halts the strategy whose orders are rejected', async () => {
  await scenario([probe('steady', 'NSE:INFY', { placeEvery: 2 }, { killTriggers: { maxRejectRatio: 0.5, rejectWindow: 4 } })], async (h) => {
    await eventually(() => h.sys.broker.book.open('steady').length > 0, 'a first accepted order');
    h.sys.sim!.faults.rejectNext(10, 'RMS: simulated reject storm');
    const { entry } = await tripped(h, 'steady', 'reject_ratio');
    assert.equal(entry.figures?.window, 4);
    assert.ok(Number(entry.figures?.actual) > 0.5);
  });
});

test('a MarginException from the exchange halts that strategy', async () => {
  await scenario([probe('margined', 'NSE:INFY', { placeEvery: 2 })], async (h) => {
    await eventually(() => h.sys.broker.book.open('margined').length > 0, 'a first accepted order');
    h.sys.sim!.faults.marginExceptionNext(1);
    const { entry } = await tripped(h, 'margined', 'margin');
    assert.equal(entry.level, 1);
    assert.match(String(entry.figures?.message), /margin/i);
  });
});

test('a strategy that keeps crashing past its restart intensity is halted and stays down', async () => {
  await scenario([probe('crashy', 'NSE:INFY', { throwOnTick: 2 }, { restart: { maxRestarts: 2, withinSeconds: 60 } })], async (h) => {
    const { entry } = await tripped(h, 'crashy', 'restart_intensity', 30_000);
    assert.equal(entry.figures?.limit, 2);
    assert.equal(entry.figures?.actual, 3);
    await eventually(() => h.sys.supervisor.status('crashy') === 'down', 'the supervisor leaves it down');
  });
});

test('with the broker alone (--role broker), a strategy crashing in a strategies process of its own is halted by the same restart-intensity trigger', async () => {
  const h = await startHarness(renderRegistry([probe('crashy-remote', 'NSE:INFY', { throwOnTick: 2 }, { restart: { maxRestarts: 2, withinSeconds: 60 } })]), { role: 'broker' });
  let host: StrategiesHost | undefined;
  try {
    assert.equal(h.sys.supervisor.status('crashy-remote'), undefined, 'no strategy runs in the broker process');
    host = await startStrategiesHost({ configFile: join(h.dir, 'strategies.yaml'), natsUrl: h.server.url, log, logLevel: 'silent', hotReload: false, metricsPort: 0 });
    const { entry } = await tripped(h, 'crashy-remote', 'restart_intensity', 30_000);
    assert.equal(entry.figures?.limit, 2);
    assert.equal(entry.figures?.actual, 3, 'each crash on the strategies host counted once');
    await eventually(() => host!.supervisor.status('crashy-remote') === 'down', 'the strategies host leaves it down');
    // The strategies process's own /metrics counts what its supervisor did.
    const samples = await scrape(host.metricsUrl!);
    const value = (name: string) => samples.find((x) => x.name === name && x.labels.actor === 'crashy-remote')?.value;
    assert.equal(value('orch_actor_gave_up_total'), '1');
    assert.equal(value('orch_actor_up'), '0');
    assert.ok(Number(value('orch_actor_restarts_total')) >= 2, `restarts counted: ${value('orch_actor_restarts_total')}`);
  } finally {
    await host?.stop();
    await h.close();
  }
});

test('a position losing past the daily limit halts the strategy (P&L from its fills and the last price)', async () => {
  await scenario([probe('loser', 'NSE:INFY', { buyOnTick: 1, buyQty: 10 }, { killTriggers: { dailyLoss: 50000 } })], async (h) => {
    await eventually(() => h.sys.broker.position('loser', 'NSE:INFY') === 10, 'the position filled');
    const last = h.sys.broker.lastPrice('kite', 'NSE:INFY')!;
    // ₹100 down on 10 shares: a loss of 100000 paise against a limit of 50000.
    h.sys.sim!.setPrice(408065, (last - 10_000) / 100);
    const { entry } = await tripped(h, 'loser', 'daily_loss');
    assert.equal(entry.figures?.limit, 50_000);
    assert.ok(Number(entry.figures?.actual) >= 50_000);
  });
});
