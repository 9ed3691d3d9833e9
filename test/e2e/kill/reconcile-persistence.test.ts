import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../../actors/clock.ts';
import { KiteRestClient } from '../../../broker/kite/rest-client.ts';
import { eventually } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { startHarness, probe, tripped } from '../../support/kill-harness.ts';
import { FakeLimiter } from '../../support/fake-limiter.ts';

/**
 * On the whole running system: a position difference found once does not latch kill level 2;
 * the kill switch asks for another look a few seconds later, and only when that one finds it
 * too is level 2 raised (killTriggers.reconcileConfirmChecks, reconcileRecheckMs).
 */
test('a position difference is confirmed by a second reconciliation a few seconds later before kill level 2 is latched', async () => {
  const h = await startHarness(renderRegistry([probe('holder', 'NSE:INFY', { buyOnTick: 1, buyQty: 2 })]));
  try {
    await eventually(() => h.sys.broker.position('holder', 'NSE:INFY') === 2, 'the strategy to hold 2', 20_000);
    // A trade by hand on the account: nothing in the log explains it.
    const sim = h.sys.sim!;
    const token = sim.issueAccessToken();
    const rest = new KiteRestClient({ root: sim.restUrl, apiKey: sim.credentials.apiKey, getAccessToken: () => token, limiter: new FakeLimiter(), clock: systemClock });
    await rest.placeOrder('regular', { exchange: 'NSE', tradingsymbol: 'INFY', transaction_type: 'SELL', order_type: 'MARKET', market_protection: -1, quantity: 1, product: 'MIS', validity: 'DAY' });
    await eventually(async () => (await h.exchangePositions())['NSE:INFY'] === 1, 'the manual sell to fill');

    const [first] = await h.sys.broker.reconcileNow('operator');
    assert.equal(first!.result, 'mismatch');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.sys.killStore.current().global.level, 0, 'seen once: no level yet');

    // No periodic run is due for a minute: the confirming run is the one the kill switch asks for.
    const { entry } = await tripped(h, 'global', 'reconcile_mismatch', 20_000);
    assert.equal(entry.level, 2);
    assert.equal(entry.figures?.actual, 2, 'two checks found it');
  } finally {
    await h.close();
  }
});
