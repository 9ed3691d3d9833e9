import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { startHarness, probe } from '../../support/kill-harness.ts';

/**
 * Kill level 3 against the built-in exchange with Kite's limits switched on: 60 resting orders
 * are cancelled as fast as the venue allows and not faster. Cancels count under Kite's "all
 * other endpoints" (10/s, with the reads the kill sweep makes), so a broker pacing them as a
 * 25/s window of their own gets 429s here, and a 429'd kill cancel is an order left open.
 */
test('a kill-switch cancel burst of 60 open orders at level 3 gets zero 429s from an exchange enforcing Kite limits', async () => {
  const answers: { method: string; path: string; status: number }[] = [];
  const h = await startHarness(renderRegistry([
    // 20 each: the probe's maxPosition (20) counts resting BUYs as if they all filled.
    probe('alpha', 'NSE:INFY', { restOnTick: 1, restCount: 20 }),
    probe('beta', 'NSE:TCS', { restOnTick: 1, restCount: 20 }),
    probe('gamma', 'NSE:SBIN', { restOnTick: 1, restCount: 20 }),
  ]), { kiteSim: { enforceRateLimits: true, observer: { responseSent: (e) => void answers.push(e) } } });
  try {
    await eventually(() => h.openAtExchange().length === 60, '60 resting orders at the exchange', 60_000);
    const before = answers.length;
    const r = await h.cli('kill', ['3', '--reason', 'cancel burst test']);
    assert.equal(r.code, 0, r.err);
    await eventually(() => h.openAtExchange().length === 0, 'every order cancelled at the exchange', 30_000);
    const cancels = answers.slice(before).filter((a) => a.method === 'DELETE' && a.path.startsWith('/orders/'));
    assert.ok(cancels.length >= 60, `${cancels.length} cancels answered`);
    assert.deepEqual(answers.filter((a) => a.status === 429), [], 'no request was refused for its rate');
  } finally {
    await h.close();
  }
});
