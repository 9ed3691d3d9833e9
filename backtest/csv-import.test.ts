/** CSV import: exact prices from decimals, one clear error per bad row, and nothing stored from a file with any error. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importCandleCsv, parseCandleCsv, CsvImportError } from './csv-import.ts';
import { readCandles } from './store.ts';

const kite = { venue: 'kite', instrument: 'NSE:INFY', interval: 'minute' } as const;

test('a good file: decimals become exact paise (no float rounding), times with their offset, extra columns named', () => {
  const csv = 'Date,Open,High,Low,Close,Volume,Adj Close\n'
    + '2026-11-20T09:16:00+05:30,1500.10,1501.00,1499.95,1500.30,1200,1\n'
    + '2026-11-20T09:15:00+05:30,1499.9,1500.25,1499.5,1500.1,800,1\n';
  const r = parseCandleCsv(csv, 'infy.csv', kite);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.ignoredColumns, ['adj close']);
  assert.deepEqual(r.candles.map((c) => [c.ts, c.open, c.high, c.low, c.close, c.volume]), [
    [Date.parse('2026-11-20T03:45:00Z'), 149_990, 150_025, 149_950, 150_010, 800],
    [Date.parse('2026-11-20T03:46:00Z'), 150_010, 150_100, 149_995, 150_030, 1200],
  ]);
  const kalshi = parseCandleCsv('ts,open,high,low,close,volume\n2026-11-20T15:00:00Z,0.42,0.4375,0.41,0.43,500\n', 'k.csv', { venue: 'kalshi', instrument: 'KXFED-26DEC-T4.00', interval: 'minute' });
  assert.deepEqual(kalshi.candles.map((c) => [c.open, c.high, c.low, c.close]), [[4200, 4375, 4100, 4300]], 'dollars → hundredths of a cent');
  const minor = parseCandleCsv('ts,open,high,low,close,volume\n1795146300000,150000,150010,149990,150005,7\n', 'm.csv', { ...kite, units: 'minor' });
  assert.deepEqual(minor.candles.map((c) => [c.ts, c.close]), [[1795146300000, 150005]]);
});

test('every bad row is reported with its line and field; the rest of the file is still checked', () => {
  const csv = [
    'time,open,high,low,close,volume',
    '2026-11-20T09:15:00+05:30,1500,1501,1499,1500.5,10', // 2: good
    '2026-11-20 09:16:00,1500,1501,1499,1500.5,10', // 3: no offset
    '2026-11-20T09:17:00+05:30,1500.123,1501,1499,1500,10', // 4: a tenth of a paisa
    '2026-11-20T09:18:00+05:30,1500,1499,1499,1500,10', // 5: high below open
    '2026-11-20T09:19:00+05:30,1500,1501,1499,1500,-3', // 6: negative volume
    '2026-11-20T09:15:00+05:30,1500,1501,1499,1500,10', // 7: the time of line 2 again
    '2026-11-20T09:20:00+05:30,1500,1501,1499', // 8: short row
    '2026-02-30T09:21:00+05:30,1500,1501,1499,1500,10', // 9: no such day
    '2026-11-20T09:22:00+05:30,abc,1501,1499,1500,10', // 10: not a number
    '',
  ].join('\n');
  const r = parseCandleCsv(csv, 'bad.csv', kite);
  assert.deepEqual(r.errors.map((e) => `${e.line} ${e.field}`), ['3 time', '4 open', '5 high', '6 volume', '7 time', '8 (row)', '9 time', '10 open']);
  assert.equal(r.errorCount, 8);
  assert.deepEqual(r.candles, [], 'a file with errors yields no candles at all');
  assert.match(r.errors[0]!.message, /no UTC offset.*--tz/);
  assert.match(r.errors[1]!.message, /more than 2 decimals/);
  assert.match(r.errors[4]!.message, /same time as line 2/);
  // --tz makes the offset-less time good.
  assert.equal(parseCandleCsv('time,open,high,low,close,volume\n2026-11-20 09:16:00,1,1,1,1,1\n', 'x.csv', { ...kite, tz: '+05:30' }).candles[0]!.ts, Date.parse('2026-11-20T03:46:00Z'));
  assert.match(parseCandleCsv('open,high,low,close\n1,1,1,1\n', 'h.csv', kite).errors[0]!.message, /missing columns time, volume/);
});

test('importing a file with one bad row stores nothing; the error names file:line: field', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-csv-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'store');
  const file = join(dir, 'infy.csv');
  await writeFile(file, 'time,open,high,low,close,volume\n2026-11-20T09:15:00+05:30,1500,1501,1499,1500,10\n2026-11-20T09:16:00+05:30,1500,1501,1499,1500,ten\n');
  await assert.rejects(importCandleCsv(file, kite, { root }), (e: unknown) => {
    assert.ok(e instanceof CsvImportError);
    assert.match(e.message, new RegExp(`^1 error; nothing imported:\\n${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: volume: "ten" is not a whole non-negative number$`));
    return true;
  });
  const stored: unknown[] = [];
  for await (const c of readCandles({ ...kite, from: 0, to: Infinity }, { root })) stored.push(c);
  assert.deepEqual(stored, []);
  await writeFile(file, 'time,open,high,low,close,volume\n2026-11-20T09:15:00+05:30,1500,1501,1499,1500,10\n');
  assert.equal((await importCandleCsv(file, kite, { root })).candles, 1);
  const after: unknown[] = [];
  for await (const c of readCandles({ ...kite, from: 0, to: Infinity }, { root })) after.push(c);
  assert.equal(after.length, 1);
});
