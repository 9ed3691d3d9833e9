import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  parseBinaryFrame, parsePacket, parseTextFrame, priceDivisor, modeOf, tradable, toRupees,
  type Tick, type FullTick, type QuoteTick,
} from './ticker-parser.ts';
import { encodeFrame, encodePacket, HEARTBEAT, encodeControl } from './ticker-codec.ts';

/**
 * Kite's own packets: zerodha/kiteconnect-mocks ticker_quote.packet and ticker_full.packet
 * (base64, copied to test/fixtures/kite-ticker with their source), checked against the decoded
 * JSON that sits next to them in the same repository.
 */
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/kite-ticker/', import.meta.url));
const packetFixture = (name: string) => Buffer.from(readFileSync(`${FIXTURES}${name}.packet`, 'utf8').trim(), 'base64');
const jsonFixture = (name: string) => JSON.parse(readFileSync(`${FIXTURES}${name}.json`, 'utf8')) as Record<string, any>;
const mockQuotePacket = () => packetFixture('ticker_quote');
const mockFullPacket = () => packetFixture('ticker_full');
/** unix seconds → the mocks' IST ISO string ("2021-07-05T10:41:27+05:30"). */
const istIso = (sec: number) => `${new Date(sec * 1000 + 5.5 * 3600_000).toISOString().slice(0, 19)}+05:30`;
const rupees = (raw: number, divisor: number) => toRupees(raw, divisor);

/** The fields a quote and a full packet share, in the mocks' JSON names and rupees. */
const quoteFieldsOf = (t: QuoteTick | FullTick) => ({
  instrument_token: t.instrumentToken,
  last_price: rupees(t.lastPrice, t.divisor),
  last_quantity: t.lastTradedQuantity,
  average_price: rupees(t.averageTradedPrice, t.divisor),
  volume: t.volumeTraded,
  buy_quantity: t.totalBuyQuantity,
  sell_quantity: t.totalSellQuantity,
  ohlc: { open: rupees(t.ohlc.open, t.divisor), high: rupees(t.ohlc.high, t.divisor), low: rupees(t.ohlc.low, t.divisor), close: rupees(t.ohlc.close, t.divisor) },
});
/** The same fields picked from a mocks' JSON fixture. */
const mockQuoteFields = (want: Record<string, any>) => ({
  instrument_token: want.instrument_token, last_price: want.last_price, last_quantity: want.last_quantity,
  average_price: want.average_price, volume: want.volume, buy_quantity: want.buy_quantity, sell_quantity: want.sell_quantity, ohlc: want.ohlc,
});

function frameOf(...packets: Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [Buffer.from([packets.length >> 8, packets.length & 0xff])];
  for (const p of packets) parts.push(Buffer.from([p.length >> 8, p.length & 0xff]), p);
  return Buffer.concat(parts);
}

test('the official quote packet decodes to the values of its JSON fixture', () => {
  const b = mockQuotePacket();
  assert.equal(b.length, 44);
  const want = jsonFixture('ticker_quote');
  const frame = parseBinaryFrame(frameOf(b));
  assert.equal(frame.type, 'ticks');
  if (frame.type !== 'ticks') return;
  assert.deepEqual(frame.problems, []);
  const t = frame.ticks[0] as QuoteTick;
  assert.equal(t.kind, 'quote');
  assert.equal(modeOf(t), want.mode);
  assert.equal(tradable(t), want.tradable);
  assert.deepEqual(quoteFieldsOf(t), mockQuoteFields(want));
});

test('the official full packet decodes to the values of its JSON fixture, depth as 5 bids then 5 asks', () => {
  const b = mockFullPacket();
  assert.equal(b.length, 184);
  const want = jsonFixture('ticker_full');
  const frame = parseBinaryFrame(frameOf(b));
  assert.equal(frame.type, 'ticks');
  if (frame.type !== 'ticks') return;
  assert.deepEqual(frame.problems, []);
  const t = frame.ticks[0] as FullTick;
  assert.equal(t.kind, 'full');
  assert.equal(modeOf(t), want.mode);
  assert.equal(tradable(t), want.tradable);
  const level = (l: { price: number; quantity: number; orders: number }) => ({ price: rupees(l.price, t.divisor), quantity: l.quantity, orders: l.orders });
  assert.deepEqual({
    ...quoteFieldsOf(t),
    last_trade_time: istIso(t.lastTradeTime),
    oi: t.oi, oi_day_high: t.oiDayHigh, oi_day_low: t.oiDayLow,
    timestamp: istIso(t.exchangeTimestamp),
    depth: { buy: t.depth.buy.map(level), sell: t.depth.sell.map(level) },
  }, {
    ...mockQuoteFields(want),
    last_trade_time: want.last_trade_time, oi: want.oi, oi_day_high: want.oi_day_high, oi_day_low: want.oi_day_low,
    timestamp: want.timestamp, depth: want.depth,
  });
  // The mocks' change is absolute rupees: last − close, in exact paise.
  assert.equal((t.lastPrice - t.ohlc.close) / t.divisor, Math.round(want.change * 100) / 100);
});

test('index packets carry high, low, open, close in that order', () => {
  const b = Buffer.alloc(32);
  b.writeUInt32BE(256265, 0); // NIFTY 50, segment 9
  b.writeInt32BE(2_450_000, 4);
  b.writeInt32BE(2_460_000, 8); // high
  b.writeInt32BE(2_440_000, 12); // low
  b.writeInt32BE(2_445_000, 16); // open
  b.writeInt32BE(2_430_000, 20); // close
  b.writeInt32BE(20_000, 24);
  b.writeUInt32BE(1_700_000_000, 28);
  const full = parsePacket(new DataView(b.buffer, b.byteOffset, 32));
  assert.deepEqual(full, {
    kind: 'index_full', instrumentToken: 256265, divisor: 100, lastPrice: 2_450_000,
    ohlc: { open: 2_445_000, high: 2_460_000, low: 2_440_000, close: 2_430_000 }, change: 20_000, exchangeTimestamp: 1_700_000_000,
  });
  assert.equal(tradable(full!), false);
  const quote = parsePacket(new DataView(b.buffer, b.byteOffset, 28));
  assert.equal(quote?.kind, 'index_quote');
  assert.equal(modeOf(quote!), 'quote');
});

test('currency prices use the segment divisor: CDS 1e7, BCD 1e4, everything else paise', () => {
  assert.equal(priceDivisor(412675), 10_000_000); // LAB: CDS token
  assert.equal(priceDivisor((1234 << 8) | 6), 10_000);
  for (const seg of [1, 2, 4, 5, 7, 8, 9]) assert.equal(priceDivisor((1234 << 8) | seg), 100);
  const b = Buffer.alloc(8);
  b.writeUInt32BE(412675, 0);
  b.writeInt32BE(727550000, 4);
  const t = parsePacket(new DataView(b.buffer, b.byteOffset, 8))!;
  assert.equal(toRupees(t.lastPrice, t.divisor), 72.755);
});

test('a one-byte frame is a heartbeat, never a tick', () => {
  assert.deepEqual(parseBinaryFrame(HEARTBEAT), { type: 'heartbeat' });
  assert.deepEqual(parseBinaryFrame(new Uint8Array(0)), { type: 'heartbeat' });
});

test('a frame with several packets of different modes decodes each', () => {
  const ltp = Buffer.alloc(8);
  ltp.writeUInt32BE(738561, 0);
  ltp.writeInt32BE(250_000, 4);
  const frame = parseBinaryFrame(frameOf(ltp, mockQuotePacket(), mockFullPacket()));
  assert.equal(frame.type, 'ticks');
  if (frame.type === 'ticks') assert.deepEqual(frame.ticks.map((t) => t.kind), ['ltp', 'quote', 'full']);
});

test('truncated, oversized or unknown packets are reported, not thrown, and good packets survive', () => {
  const good = mockQuotePacket();
  const trunc = frameOf(good).subarray(0, 30);
  const r1 = parseBinaryFrame(trunc);
  assert.ok(r1.type === 'ticks' && r1.ticks.length === 0 && /truncated/.test(r1.problems[0]!));
  const odd = frameOf(good, Buffer.alloc(13));
  const r2 = parseBinaryFrame(odd);
  assert.ok(r2.type === 'ticks' && r2.ticks.length === 1 && /unknown length 13/.test(r2.problems[0]!));
  const claimsMore = Buffer.concat([Buffer.from([0, 3]), frameOf(good).subarray(2)]);
  const r3 = parseBinaryFrame(claimsMore);
  assert.ok(r3.type === 'ticks' && r3.ticks.length === 1 && r3.problems.length === 1);
  const trailing = Buffer.concat([frameOf(good), Buffer.from([1, 2, 3])]);
  const r4 = parseBinaryFrame(trailing);
  assert.ok(r4.type === 'ticks' && /trailing/.test(r4.problems[0]!));
});

test('prices above 2^31 paise are not mistaken for negatives, but real negative prices are kept', () => {
  const b = Buffer.alloc(44);
  b.writeUInt32BE(0xfffffff1, 0); // a token above 2^31 must stay positive
  b.writeInt32BE(-3_763_000, 4); // WTI crude, April 2020
  b.writeUInt32BE(3_000_000_000, 16); // day volume above 2^31
  const t = parsePacket(new DataView(b.buffer, b.byteOffset, 44)) as QuoteTick;
  assert.equal(t.instrumentToken, 0xfffffff1);
  assert.equal(t.lastPrice, -3_763_000);
  assert.equal(t.volumeTraded, 3_000_000_000);
});

const samples: Tick[] = [
  { kind: 'ltp', instrumentToken: 408065, divisor: 100, lastPrice: 157315 },
  { kind: 'ltp', instrumentToken: 412675, divisor: 10_000_000, lastPrice: 727550000 },
  { kind: 'index_quote', instrumentToken: 256265, divisor: 100, lastPrice: 2_450_000, ohlc: { open: 1, high: 2, low: 3, close: 4 }, change: -5 },
  { kind: 'index_full', instrumentToken: 256265, divisor: 100, lastPrice: 2_450_000, ohlc: { open: 1, high: 2, low: 3, close: 4 }, change: 5, exchangeTimestamp: 1_700_000_000 },
  {
    kind: 'quote', instrumentToken: 408065, divisor: 100, lastPrice: 157315, lastTradedQuantity: 1, averageTradedPrice: 157033,
    volumeTraded: 1175986, totalBuyQuantity: 256511, totalSellQuantity: 360503, ohlc: { open: 156915, high: 157500, low: 156105, close: 156780 },
  },
  {
    kind: 'full', instrumentToken: (5720322 & ~0xff) | 2, divisor: 100, lastPrice: 7800, lastTradedQuantity: 75, averageTradedPrice: 7790,
    volumeTraded: 10, totalBuyQuantity: 20, totalSellQuantity: 30, ohlc: { open: 1, high: 2, low: 3, close: 4 },
    lastTradeTime: 1_700_000_001, oi: 4_000_000_000, oiDayHigh: 5, oiDayLow: 6, exchangeTimestamp: 1_700_000_002,
    depth: {
      buy: [1, 2, 3, 4, 5].map((i) => ({ quantity: i * 10, price: 7800 - i, orders: i })),
      sell: [1, 2, 3, 4, 5].map((i) => ({ quantity: i * 11, price: 7800 + i, orders: 65535 - i })),
    },
  },
];

test('every packet kind survives encode → parse unchanged', () => {
  for (const t of samples) {
    const bytes = encodePacket(t);
    assert.deepEqual(parsePacket(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)), t, t.kind);
  }
  const frame = parseBinaryFrame(encodeFrame(samples));
  assert.deepEqual(frame, { type: 'ticks', ticks: samples, problems: [] });
});

test('the encoder writes the same bytes as the official layout', () => {
  const q = samples[4]!;
  assert.deepEqual(Buffer.from(encodePacket(q)), mockQuotePacket());
  const parsed = parseBinaryFrame(frameOf(mockFullPacket()));
  assert.ok(parsed.type === 'ticks');
  if (parsed.type === 'ticks') assert.deepEqual(Buffer.from(encodePacket(parsed.ticks[0]!)), mockFullPacket());
});

test('a full packet with a thin book is zero-filled to five levels a side', () => {
  const t = { ...(samples[5] as FullTick), depth: { buy: [{ quantity: 1, price: 2, orders: 3 }], sell: [] } };
  const back = parsePacket(new DataView(encodePacket(t).buffer)) as FullTick;
  assert.equal(back.depth.buy.length, 5);
  assert.deepEqual(back.depth.buy[1], { quantity: 0, price: 0, orders: 0 });
  assert.equal(back.depth.sell.length, 5);
});

test('order updates arrive as text with the order id kept as a string', () => {
  const f = parseTextFrame('{"type":"order","data":{"order_id":"1914227164488687616","status":"COMPLETE","tag":"i0","filled_quantity":1,"extra":"kept"}}');
  assert.equal(f.type, 'order');
  if (f.type === 'order') {
    assert.equal(f.data.order_id, '1914227164488687616');
    assert.equal((f.data as Record<string, unknown>).extra, 'kept');
  }
});

test('error and message text frames are surfaced; malformed ones are reported as invalid', () => {
  assert.deepEqual(parseTextFrame('{"type":"error","data":"bad token"}'), { type: 'error', data: 'bad token' });
  assert.deepEqual(parseTextFrame('{"type":"message","data":{"x":1}}'), { type: 'message', data: { x: 1 } });
  assert.equal(parseTextFrame('not json').type, 'invalid');
  assert.equal(parseTextFrame('{"type":"order","data":{"order_id":151220000000000,"status":"OPEN"}}').type, 'invalid', 'numeric ids would lose digits');
  assert.equal(parseTextFrame('{"type":"surprise"}').type, 'invalid');
});

test('control messages are the JSON Kite expects', () => {
  assert.equal(encodeControl({ a: 'subscribe', v: [408065] }), '{"a":"subscribe","v":[408065]}');
  assert.equal(encodeControl({ a: 'mode', v: ['full', [408065, 1]] }), '{"a":"mode","v":["full",[408065,1]]}');
});
