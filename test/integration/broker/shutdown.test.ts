import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { spec } from '../../support/specs.ts';
import { kiteBrokerOnSim, startKiteBroker } from '../../support/kite-broker.ts';
import { startNatsServer } from '../../support/nats-server.ts';
import { connectBus } from '../../../actors/bus.ts';
import { ensureEventStream } from '../../../broker/event-log.ts';
import { startKiteSim } from '../../../exchanges/kite/index.ts';
import { INFY } from '../../support/recovery-harness.ts';

/**
 * A broker whose bus connection is gone (a stop under way, a crash) still finishes what it
 * was doing with the venue: a reconciliation that ends after the connection closed reports
 * into the log, not as an unhandled rejection that takes the process down.
 */
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });

test('a reconciliation that ends after the bus connection closed completes with its report', async (t) => {
  const { sim, running } = await kiteBrokerOnSim(t, { name: 'shutdown-test', strategies: [spec('s1')], log, before: (s) => s.setPrice(INFY.token, 1500) });
  const reconciling = running.broker.reconcileNow('operator');
  await running.broker.connection!.close();
  const reports = await reconciling;
  assert.deepEqual(reports.map((r) => r.venue), ['kite']);
  assert.equal(reports[0]!.result, 'ok');
  assert.equal(sim.orders().length, 0);
});

test('a stop with nats-server gone does not hang on events it cannot store', async (t) => {
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name: 'setup' });
  await ensureEventStream(nc);
  await nc.close();
  const sim = await startKiteSim({ tickIntervalMs: 50, seed: 3, logger: log });
  const running = await startKiteBroker({ sim, natsUrl: nats.url, strategies: [spec('s1')], log, stopFlushMs: 300 });
  t.after(async () => {
    await running.control.close();
    await sim.close();
    await nats.cleanup();
  });
  await nats.stop('SIGKILL');
  running.broker.publishEvent({ type: 'BrokerDisconnected', venue: 'kite', reason: 'test', ts: Date.now() }); // queued, never stored
  assert.ok(running.events.pending() >= 1, 'an event is waiting to be stored');
  const stopped = await Promise.race([
    running.broker.stop().then(() => 'stopped'),
    new Promise((r) => setTimeout(() => r('hung'), 8_000)),
  ]);
  assert.equal(stopped, 'stopped');
});
