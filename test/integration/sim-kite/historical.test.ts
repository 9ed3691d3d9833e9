/** Historical candles through the official client: format, session hours, determinism, caps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KiteConnect } from 'kiteconnect';
import { kiteFetch, startTestSim } from './helpers.ts';

test('getHistoricalData: minute and day candles in IST session hours, reproducible, with caps', async () => {
  const { sim, clock } = await startTestSim(); // clock: Mon 2026-11-23 09:30 IST
  try {
    const token = sim.issueAccessToken();
    const kc: any = new KiteConnect({ api_key: sim.credentials.apiKey, access_token: token, root: sim.restUrl });
    const mins = await kc.getHistoricalData(408065, '5minute', '2026-11-20 09:00:00', '2026-11-20 16:00:00');
    assert.equal(mins.length, 75, '09:15 to 15:30 in 5-minute candles');
    assert.equal(mins[0].date.getTime(), Date.parse('2026-11-20T09:15:00+05:30'));
    for (const c of mins) {
      assert.ok(c.high >= Math.max(c.open, c.close) && c.low <= Math.min(c.open, c.close));
      assert.ok(c.volume > 0);
    }
    const raw = (await (await kiteFetch(sim, '/instruments/historical/408065/minute?from=2026-11-20+09:15:00&to=2026-11-20+09:16:00&oi=1', { token })).json()) as any;
    assert.equal(raw.data.candles[0][0], '2026-11-20T09:15:00+0530');
    assert.equal(raw.data.candles[0].length, 7, 'oi=1 adds the 7th element');

    await clock.advance(1000); // historical allows 3 calls per second
    const days = await kc.getHistoricalData(256265, 'day', '2026-11-16 00:00:00', '2026-11-22 23:59:59');
    assert.equal(days.length, 5, 'weekdays only');
    assert.equal(days[0].volume, 0, 'indices have no volume');
    const again = await kc.getHistoricalData(408065, '5minute', '2026-11-20 09:00:00', '2026-11-20 16:00:00');
    assert.deepEqual(again, mins);
    await clock.advance(1000);
    await assert.rejects(kc.getHistoricalData(408065, 'minute', '2026-01-01 00:00:00', '2026-11-20 00:00:00'), (e: any) => e.error_type === 'InputException');
    // Nothing from the future.
    const today = await kc.getHistoricalData(408065, 'minute', '2026-11-23 09:00:00', '2026-11-23 15:30:00');
    assert.equal(today.length, 16, '09:15..09:30 inclusive at 09:30');
  } finally {
    await sim.close();
  }
});
