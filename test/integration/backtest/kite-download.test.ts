/**
 * `orch data kite`'s download against the built-in Kite exchange: Kite's historical endpoint
 * span by span under its caps, every call through the shared limiter's historical category,
 * candles stored in exact paise, the same as the official client reads them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KiteConnect } from 'kiteconnect';
import { systemClock } from '../../../actors/clock.ts';
import { createLogger } from '../../../actors/logger.ts';
import { SharedLimiter } from '../../../broker/limiter/shared-limiter.ts';
import { kiteLimits } from '../../../broker/limiter/limits.ts';
import { KiteRestClient } from '../../../broker/kite/rest-client.ts';
import { KiteRetry } from '../../../broker/kite/retry.ts';
import type { AcquireOptions } from '../../../broker/limiter/types.ts';
import { startKiteSim } from '../../../exchanges/kite/index.ts';
import { downloadKiteCandles, parseIstInput } from '../../../backtest/kite-history.ts';
import { readCandles } from '../../../backtest/store.ts';

const log = createLogger({ name: 'kite-download-test', level: 'silent' });

test('a 153-day minute download is three calls under Kite\'s 60-day cap, each through the historical limiter, stored in paise as the official client reads them', async (t) => {
  // The exchange enforces Kite's 3/s historical limit with real 429s: the download must pace itself.
  const sim = await startKiteSim({ seed: 7, logger: log, enforceRateLimits: true });
  const root = await mkdtemp(join(tmpdir(), 'orch-kite-dl-'));
  t.after(async () => {
    await sim.close();
    await rm(root, { recursive: true, force: true });
  });
  const token = sim.issueAccessToken();
  const shared = new SharedLimiter({ clock: systemClock, limits: kiteLimits(), logger: log });
  const asked: string[] = [];
  const limiter = Object.assign(Object.create(shared) as SharedLimiter, {
    acquire: (category: string, o?: AcquireOptions) => {
      asked.push(category);
      return shared.acquire(category, o);
    },
  });
  const rest = new KiteRestClient({ root: sim.restUrl, apiKey: sim.credentials.apiKey, getAccessToken: () => token, limiter, clock: systemClock });
  const from = parseIstInput('2026-06-01')!;
  const to = parseIstInput('2026-10-31', { endOfDay: true })!;
  const spans: number[] = [];
  const got = await downloadKiteCandles({ rest, instrument: 'NSE:INFY', interval: 'minute', from, to, onSpan: (s) => spans.push(s.candles) }, { root });

  assert.equal(got.instrumentToken, 408065, 'NSE:INFY resolved from the instruments dump');
  assert.equal(spans.length, 3);
  assert.deepEqual(asked, ['kite.other', 'kite.historical', 'kite.historical', 'kite.historical']);
  const stored = [];
  for await (const c of readCandles({ venue: 'kite', instrument: 'NSE:INFY', interval: 'minute', from: 0, to: Infinity }, { root })) stored.push(c);
  assert.equal(stored.length, got.candles);
  // 110 weekdays from 1 June to 31 October 2026 (22 + 23 + 21 + 22 + 22), 375 minutes each (the exchange knows no holidays).
  assert.equal(stored.length, 110 * 375);
  for (let i = 1; i < stored.length; i++) assert.ok(stored[i]!.ts > stored[i - 1]!.ts, 'strictly in time order, no candle twice across spans');
  assert.equal(stored[0]!.ts, Date.parse('2026-06-01T09:15:00+05:30'));
  assert.equal(stored.at(-1)!.ts, Date.parse('2026-10-30T15:29:00+05:30'));

  // The official client reads the same answer: its rupees are our paise / 100.
  const kc: any = new KiteConnect({ api_key: sim.credentials.apiKey, access_token: token, root: sim.restUrl });
  await shared.acquire('kite.historical');
  const official = await kc.getHistoricalData(408065, 'minute', '2026-08-03 09:15:00', '2026-08-03 15:29:00');
  const ours = stored.filter((c) => c.ts >= Date.parse('2026-08-03T09:15:00+05:30') && c.ts <= Date.parse('2026-08-03T15:29:00+05:30'));
  assert.equal(official.length, 375);
  assert.deepEqual(ours.map((c) => [c.ts, c.open, c.high, c.low, c.close, c.volume]),
    official.map((c: any) => [c.date.getTime(), Math.round(c.open * 100), Math.round(c.high * 100), Math.round(c.low * 100), Math.round(c.close * 100), c.volume]));

  // A rerun overwrites with the same candles: nothing doubles.
  await downloadKiteCandles({ rest, instrument: 'NSE:INFY', interval: 'minute', from: parseIstInput('2026-08-01')!, to: parseIstInput('2026-08-31', { endOfDay: true })! }, { root });
  let again = 0;
  for await (const _ of readCandles({ venue: 'kite', instrument: 'NSE:INFY', interval: 'minute', from: 0, to: Infinity }, { root })) again++;
  assert.equal(again, stored.length);
});

test('an instrument Kite does not list is refused by name before any candle is asked for', async (t) => {
  const sim = await startKiteSim({ seed: 7, logger: log });
  t.after(() => sim.close());
  const token = sim.issueAccessToken();
  const rest = new KiteRestClient({ root: sim.restUrl, apiKey: sim.credentials.apiKey, getAccessToken: () => token, limiter: new SharedLimiter({ clock: systemClock, limits: kiteLimits(), logger: log }), clock: systemClock });
  await assert.rejects(downloadKiteCandles({ rest, instrument: 'NSE:NOSUCH', interval: 'day', from: parseIstInput('2026-06-01')!, to: parseIstInput('2026-06-30')! }, { root: '/nonexistent' }), /NSE:NOSUCH is not in Kite's NSE instruments/);
});

test('a download survives the exchange failing calls (503s): each read is retried, no span is lost or doubled', async (t) => {
  const sim = await startKiteSim({ seed: 7, logger: log, enforceRateLimits: true });
  const root = await mkdtemp(join(tmpdir(), 'orch-kite-dl-retry-'));
  t.after(async () => {
    await sim.close();
    await rm(root, { recursive: true, force: true });
  });
  const token = sim.issueAccessToken();
  const rest = new KiteRestClient({ root: sim.restUrl, apiKey: sim.credentials.apiKey, getAccessToken: () => token, limiter: new SharedLimiter({ clock: systemClock, limits: kiteLimits(), logger: log }), clock: systemClock });
  const retry = new KiteRetry({ clock: systemClock, reauthenticate: async () => undefined, reconnectDelayMs: 50 });
  sim.faults.failNext(3); // the next three calls answer 503: the download asks again until one is answered
  const got = await downloadKiteCandles({ rest, retry, instrument: 'NSE:INFY', interval: 'day', from: parseIstInput('2026-11-02')!, to: parseIstInput('2026-11-13', { endOfDay: true })! }, { root });
  assert.equal(got.candles, 10, 'two trading weeks of days');
  const stored = [];
  for await (const c of readCandles({ venue: 'kite', instrument: 'NSE:INFY', interval: 'day', from: 0, to: Infinity }, { root })) stored.push(c.ts);
  assert.equal(stored.length, 10);
  await assert.rejects(
    (async () => {
      sim.faults.failNext(1);
      await downloadKiteCandles({ rest, instrument: 'NSE:INFY', interval: 'day', from: parseIstInput('2026-11-02')!, to: parseIstInput('2026-11-03')! }, { root });
    })(),
    /503/,
    'without a retry the same fault fails the download',
  );
});
