/** The shipped sample candles are what the generator makes from the built-in exchange, and read back whole. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSamples, KALSHI_SAMPLES, SAMPLES } from '../../../backtest/samples/generate.ts';
import { candleDir, listCandleSeries, readCandles } from '../../../backtest/store.ts';

const shipped = fileURLToPath(new URL('../../../backtest/samples/', import.meta.url));

test('the shipped samples hold every series the generator lists, and one regenerates byte for byte', async (t) => {
  const listed = (await listCandleSeries({ root: shipped })).map((s) => `${s.venue} ${s.instrument} ${s.interval}`).sort();
  assert.deepEqual(listed, [...SAMPLES.map((s) => `kite ${s.instrument} ${s.interval}`), ...KALSHI_SAMPLES.map((s) => `kalshi ${s.instrument} minute`)].sort());
  let minutes = 0;
  for await (const _ of readCandles({ venue: 'kite', instrument: 'NSE:INFY', interval: 'minute', from: 0, to: Infinity }, { root: shipped })) minutes++;
  assert.equal(minutes, 5 * 375, 'a trading week of minutes');

  const dir = await mkdtemp(join(tmpdir(), 'orch-samples-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const one = SAMPLES.filter((s) => s.instrument === 'NSE:TCS' && s.interval === 'minute');
  await generateSamples(dir, one, KALSHI_SAMPLES.slice(0, 1));
  for (const series of [{ venue: 'kite' as const, instrument: 'NSE:TCS', interval: 'minute' as const }, { venue: 'kalshi' as const, instrument: KALSHI_SAMPLES[0]!.instrument, interval: 'minute' as const }]) {
    assert.equal(await readFile(join(candleDir(series, { root: dir }), '2026-11.jsonl'), 'utf8'), await readFile(join(candleDir(series, { root: shipped }), '2026-11.jsonl'), 'utf8'), `${series.instrument} regenerates`);
  }
  let kalshi = 0;
  for await (const c of readCandles({ venue: 'kalshi', instrument: 'KXFED-26DEC-T4.00', interval: 'minute', from: 0, to: Infinity }, { root: shipped })) {
    assert.ok(c.low >= 100 && c.high <= 9_900 && c.close % 100 === 0, 'YES prices between 1c and 99c, on the cent grid');
    kalshi++;
  }
  assert.equal(kalshi, 1440, 'a day of minutes');
});
