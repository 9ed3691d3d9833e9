import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandZone, parseWhen, parseZone } from './when.ts';

const IST = 'Asia/Kolkata';

test('--from/--to: wall time in the zone given, an offset in the text wins, a bare --to date is that day\'s last second', () => {
  assert.equal(parseWhen('2026-11-16', { option: 'from', zone: IST }), Date.parse('2026-11-16T00:00:00+05:30'));
  assert.equal(parseWhen('2026-11-16', { option: 'to', zone: IST, end: 'last-second' }), Date.parse('2026-11-16T23:59:59+05:30'));
  assert.equal(parseWhen('2026-11-16 09:15', { option: 'from', zone: IST }), Date.parse('2026-11-16T09:15:00+05:30'));
  assert.equal(parseWhen('2026-11-16T09:15:30', { option: 'from', zone: 'UTC' }), Date.parse('2026-11-16T09:15:30Z'));
  assert.equal(parseWhen('2026-11-16 09:15', { option: 'to', zone: IST, end: 'last-second' }), Date.parse('2026-11-16T09:15:00+05:30'), 'a time is itself, end or not');
  for (const text of ['2026-11-16T03:45:00Z', '2026-11-16 09:15+05:30', '2026-11-16T09:15:00+0530', '2026-11-15T22:45:00-05:00']) {
    assert.equal(parseWhen(text, { option: 'from', zone: 'UTC' }), Date.parse('2026-11-16T03:45:00Z'), text);
    assert.equal(parseWhen(text, { option: 'from', zone: IST }), Date.parse('2026-11-16T03:45:00Z'), text);
    assert.equal(parseWhen(text, { option: 'from', zone: undefined }), Date.parse('2026-11-16T03:45:00Z'), text);
  }
  assert.equal(parseWhen('2026-11-16 09:15', { option: 'from', zone: '+05:30' }), Date.parse('2026-11-16T03:45:00Z'));
  // A zone with daylight saving: the offset of that date (EST in November, EDT in July).
  assert.equal(parseWhen('2026-11-16 09:15', { option: 'from', zone: 'America/New_York' }), Date.parse('2026-11-16T14:15:00Z'));
  assert.equal(parseWhen('2026-07-16 09:15', { option: 'from', zone: 'America/New_York' }), Date.parse('2026-07-16T13:15:00Z'));
});

test('--from/--to: what is not a date is refused naming the option; venues with different clocks need --tz or an offset', () => {
  for (const bad of ['yesterday', '2026-02-30', '2026-11-16 24:00', '16/11/2026', '2026-11-16 09:15 IST']) {
    assert.throws(() => parseWhen(bad, { option: 'from', zone: IST }), new RegExp(`--from must be yyyy-mm-dd.*${bad.replace(/[/+]/g, '.')}`), bad);
  }
  assert.throws(() => parseWhen('2026-11-16', { option: 'to', zone: undefined }), /--to "2026-11-16" names no offset.*give --tz/);
  assert.equal(commandZone(undefined, ['kite', 'kite']), IST);
  assert.equal(commandZone(undefined, ['kalshi']), 'UTC');
  assert.equal(commandZone(undefined, ['kite', 'kalshi']), undefined);
  assert.equal(commandZone('ist', ['kite', 'kalshi']), IST);
  assert.equal(parseZone('utc'), 'UTC');
  assert.equal(parseZone('-04:00'), '-04:00');
  assert.equal(parseZone('Asia/Kolkata'), IST);
  assert.throws(() => parseZone('Mars/Olympus'), /--tz must be UTC, IST, an offset/);
});
