/** The pure parts of the Kite download: IST input, span cutting under Kite's caps, wire → paise. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candleFromKite, formatIst, kiteRanges, KITE_MAX_DAYS, parseIstInput, parseKiteTime, rupeesToPaise } from './kite-history.ts';
import { INTERVALS } from './store.ts';

const DAY = 86_400_000;

test('user dates are IST; a bare --to date includes its whole day; a date that does not exist is refused', () => {
  assert.equal(parseIstInput('2026-11-20'), Date.parse('2026-11-20T00:00:00+05:30'));
  assert.equal(parseIstInput('2026-11-20', { endOfDay: true }), Date.parse('2026-11-20T23:59:59+05:30'));
  assert.equal(parseIstInput('2026-11-20 09:15'), Date.parse('2026-11-20T09:15:00+05:30'));
  assert.equal(parseIstInput('2026-11-20T09:15:30'), Date.parse('2026-11-20T09:15:30+05:30'));
  assert.equal(parseIstInput('2026-02-30'), undefined);
  assert.equal(parseIstInput('20 Nov'), undefined);
  assert.equal(formatIst(Date.parse('2026-11-20T09:15:00+05:30')), '2026-11-20 09:15:00');
});

test('every span Kite is asked for is within its cap, and the spans cover the range exactly once', () => {
  for (const interval of INTERVALS) {
    for (const days of [0, 1, KITE_MAX_DAYS[interval] - 1, KITE_MAX_DAYS[interval], KITE_MAX_DAYS[interval] + 1, 3 * KITE_MAX_DAYS[interval] + 7]) {
      const from = Date.parse('2020-01-01T00:00:00+05:30');
      const to = from + days * DAY + DAY - 1000;
      const spans = kiteRanges(from, to, interval);
      assert.equal(spans[0]!.from, from);
      assert.equal(spans.at(-1)!.to, to);
      for (const [i, s] of spans.entries()) {
        assert.ok(s.to - s.from <= KITE_MAX_DAYS[interval] * DAY, `${interval} span ${i} within the cap`);
        if (i > 0) assert.equal(s.from, spans[i - 1]!.to + 1000, 'next span starts the second after');
      }
    }
  }
  assert.equal(kiteRanges(Date.parse('2026-06-01T00:00:00+05:30'), Date.parse('2026-10-31T23:59:59+05:30'), 'minute').length, 3);
});

test('a Kite candle becomes exact paise at its instant; a price that is not whole paise is refused', () => {
  assert.equal(parseKiteTime('2017-12-15T09:15:00+0530'), Date.parse('2017-12-15T03:45:00Z'));
  assert.deepEqual(candleFromKite(['2017-12-15T09:15:00+0530', 1704.5, 1705, 1699.25, 1702.8, 2499, 13800], { venue: 'kite', instrument: 'NSE:INFY', interval: 'minute' }), {
    venue: 'kite', instrument: 'NSE:INFY', interval: 'minute', ts: Date.parse('2017-12-15T03:45:00Z'), open: 170_450, high: 170_500, low: 169_925, close: 170_280, volume: 2499, oi: 13800,
  });
  assert.equal(rupeesToPaise(0.29, 'x'), 29, '0.29 * 100 is 28.999999999999996 in binary');
  assert.throws(() => rupeesToPaise(72.7551, 'close'), /close 72.7551 is not a whole number of paise/);
  assert.throws(() => candleFromKite(['2017-12-15 09:15:00', 1, 1, 1, 1, 1], { venue: 'kite', instrument: 'NSE:INFY', interval: 'minute' }), /not yyyy-mm-ddThh:mm:ss/);
});
