import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMarketHolidays, nseMarketOpen, parseMarketHolidays } from './market-calendar.ts';
import { istDate } from '../broker/kite/market-hours.ts';

const ist = (iso: string) => Date.parse(`${iso}+05:30`);

test('a listed weekday holiday is closed all day; the next trading day opens at 09:15 IST', () => {
  const open = nseMarketOpen(parseMarketHolidays('nse:\n  - 2026-11-24\n', 'h.yaml'));
  assert.equal(open(ist('2026-11-23T10:00:00')), true, 'Monday, a normal session');
  assert.equal(open(ist('2026-11-24T10:00:00')), false, 'Tuesday, a holiday');
  assert.equal(open(ist('2026-11-25T09:14:00')), false);
  assert.equal(open(ist('2026-11-25T09:15:00')), true);
  assert.equal(open(ist('2026-11-28T10:00:00')), false, 'Saturday');
});

test('the date is the IST date: 20:00 UTC on the 23rd is already the 24th in Mumbai', () => {
  assert.equal(istDate(Date.parse('2026-11-23T20:00:00Z')), '2026-11-24');
  assert.equal(istDate(Date.parse('2026-11-23T18:29:00Z')), '2026-11-23');
});

test('a bad date is refused with the file, its line and the field', () => {
  assert.throws(() => parseMarketHolidays('nse:\n  - 2026-01-26\n  - 2026-02-30\n', 'h.yaml'), /^ConfigError: h\.yaml:3: nse\[1\]: not a calendar date/);
  assert.throws(() => parseMarketHolidays('nse:\n  - 26/01/2026\n', 'h.yaml'), /h\.yaml:2: nse\[0\]: a date as YYYY-MM-DD/);
  assert.throws(() => parseMarketHolidays('nse: []\nbse: []\n', 'h.yaml'), /h\.yaml:2: bse:/);
});

test('a file of comments only is no holidays; a missing file is reported as missing', async () => {
  assert.equal(parseMarketHolidays('# nothing yet\n', 'h.yaml').nse.size, 0);
  const dir = await mkdtemp(join(tmpdir(), 'orch-holidays-'));
  assert.equal(await loadMarketHolidays(join(dir, 'absent.yaml')), undefined);
  await writeFile(join(dir, 'h.yaml'), 'nse:\n  - 2026-12-25\n');
  assert.deepEqual([...(await loadMarketHolidays(join(dir, 'h.yaml')))!.nse], ['2026-12-25']);
});

test('the shipped calendar parses and lists only weekdays', async () => {
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'config', 'market-holidays.yaml');
  const h = (await loadMarketHolidays(file))!;
  assert.ok(h.nse.size > 0);
  for (const d of h.nse) assert.ok(![0, 6].includes(new Date(`${d}T00:00:00Z`).getUTCDay()), `${d} is a weekend: not needed in the list`);
});
