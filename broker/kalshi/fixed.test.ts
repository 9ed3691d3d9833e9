import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseDollars, formatDollars, parseCount, formatCount, parseScaled, complement, notional, isOnGrid, isValidPrice,
} from './fixed.ts';

test('every price from $0.0000 to $1.0000 survives a round trip exactly', () => {
  for (let units = 0; units <= 10_000; units++) {
    const s = formatDollars(units);
    assert.equal(parseDollars(s), units, s);
    assert.match(s, /^\d\.\d{4}$/);
  }
});

test('every count from 0.00 to 2000.00 contracts survives a round trip exactly', () => {
  for (let h = 0; h <= 200_000; h++) {
    const s = formatCount(h);
    assert.equal(parseCount(s), h, s);
  }
});

test('dollar strings that binary floats get wrong parse to the exact integer', () => {
  assert.equal(parseDollars('0.1'), 1000);
  assert.equal(parseDollars('0.29'), 2900); // 0.29 * 10000 = 2899.9999999999995 in floats
  assert.equal(parseDollars('0.5700'), 5700); // 0.57 * 10000 = 5699.999999999999
  assert.equal(parseDollars('0.560000'), 5600); // responses carry up to 6 places
  assert.equal(parseDollars('12345.6789'), 123_456_789);
  assert.equal(parseDollars('-3.2500'), -32_500); // realized P&L can be negative
  assert.equal(parseDollars('1'), 10_000);
});

test('counts parse from two-decimal strings, including fractional and negative positions', () => {
  assert.equal(parseCount('10.00'), 1000);
  assert.equal(parseCount('0.01'), 1);
  assert.equal(parseCount('0.3'), 30);
  assert.equal(parseCount('-5.00'), -500);
  assert.equal(parseCount('7'), 700);
  assert.equal(Object.is(parseCount('-0.00'), -0), false);
});

test('a price with a non-zero digit below a hundredth of a cent is refused, not rounded', () => {
  assert.throws(() => parseDollars('0.56001'), /decimal places/);
  assert.throws(() => parseCount('1.005'), /decimal places/);
});

test('anything that is not a plain decimal string is refused', () => {
  for (const bad of ['', '.5', '5.', '1e3', ' 1', '+1', 'NaN', '0x10', '1,000.00', '--1', 'Infinity']) {
    assert.throws(() => parseDollars(bad), RangeError, bad);
  }
  assert.throws(() => parseScaled('9007199254740993', 0), /exact integer range/);
});

test('formatting negative and large values keeps the sign and every digit', () => {
  assert.equal(formatDollars(-5), '-0.0005');
  assert.equal(formatDollars(123_456_789), '12345.6789');
  assert.equal(formatCount(-1), '-0.01');
  assert.equal(formatCount(0), '0.00');
  assert.throws(() => formatDollars(0.5), /safe integer/);
});

test('a YES bid at $0.42 is a NO ask at $0.58', () => {
  assert.equal(complement(4200), 5800);
  assert.equal(formatDollars(complement(parseDollars('0.0010'))), '0.9990');
});

test('notional rounds a fractional hundredth of a cent up against the buyer', () => {
  assert.equal(notional(5600, 1000), 56_000); // 10 contracts at $0.56 = $5.60
  assert.equal(notional(4210, 1), 43); // 0.01 contract at $0.421 = $0.00421 → 43 hundredths of a cent
  assert.equal(notional(5000, 200), 10_000);
});

test('prices off the market tick grid or outside (0, 1) are not tradable', () => {
  const cents = [{ start: 100, end: 9900, step: 100 }];
  assert.equal(isOnGrid(4200, cents), true);
  assert.equal(isOnGrid(4210, cents), false);
  const tapered = [{ start: 10, end: 1000, step: 10 }, { start: 1000, end: 9000, step: 100 }, { start: 9000, end: 9990, step: 10 }];
  assert.equal(isOnGrid(9950, tapered), true);
  assert.equal(isOnGrid(5050, tapered), false);
  assert.equal(isValidPrice(0), false);
  assert.equal(isValidPrice(10_000), false);
});
