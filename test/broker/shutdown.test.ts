import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { spec } from '../helpers/specs.ts';
import { kiteBrokerOnSim } from '../helpers/kite-broker.ts';
import { INFY } from '../recovery/harness.ts';

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
