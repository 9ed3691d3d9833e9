import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseBinaryFrame, parsePacket, parseTextFrame, priceDivisor, modeOf, tradable, toRupees,
  type Tick, type FullTick, type QuoteTick,
} from './ticker-parser.ts';
import { encodeFrame, encodePacket, HEARTBEAT, encodeControl } from './ticker-codec.ts';

/**
 * Fixtures written with Buffer at the offsets of the PROTOCOLS.md A5 table, independently of the
 * codec, so a layout mistake shared by parser and encoder cannot pass the round trips unnoticed.
 * The values are those of zerodha/kiteconnect-mocks ticker_quote.packet / ticker_full.packet as
 * decoded by gokiteconnect's ticker_test.go (the .packet files themselves were not reachable).
 */
function mockQuotePacket(): Buffer {
  const b = Buffer.alloc(44);
  b.writeUInt32BE(408065, 0);
  b.writeInt32BE(157315, 4);
  b.writeUInt32BE(1, 8);
  b.writeInt32BE(157033, 12);
  b.writeUInt32BE(1175986, 16);
  b.writeUInt32BE(256511, 20);
  b.writeUInt32BE(360503, 24);
  b.writeInt32BE(156915, 28); // open
  b.writeInt32BE(157500, 32); // high
  b.writeInt32BE(156105, 36); // low
  b.writeInt32BE(156780, 40); // close
  return b;
}
const MOCK_BUY = [[157340, 5, 1], [157300, 140, 2], [157295, 2, 1], [157290, 219, 7], [157285, 50, 1]] as const;
const MOCK_SELL = [[157370, 172, 3], [157375, 44, 3], [157385, 302, 3], [157390, 141, 2], [157395, 724, 5]] as const;
function mockFullPacket(): Buffer {
  const b = Buffer.alloc(184);
  mockQuotePacket().copy(b, 0);
  b.writeInt32BE(157370, 4);
  b.writeUInt32BE(7, 8);
  b.writeInt32BE(157037, 12);
  b.writeUInt32BE(1192471, 16);
  b.writeUInt32BE(256443, 20);
  b.writeUInt32BE(363009, 24);
  b.writeUInt32BE(1625461887, 44);
  b.writeUInt32BE(1625461887, 60);
  [...MOCK_BUY, ...MOCK_SELL].forEach(([price, qty, orders], i) => {
    b.writeUInt32BE(qty, 64 + i * 12);
    b.writeInt32BE(price, 68 + i * 12);
    b.writeUInt16BE(orders, 72 + i * 12);
  });
  return b;
}
function frameOf(...packets: Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [Buffer.from([packets.length >> 8, packets.length & 0xff])];
  for (const p of packets) parts.push(Buffer.from([p.length >> 8, p.length & 0xff]), p);
  return Buffer.concat(parts);
}

test('the quote packet of the official mocks decodes to its documented values', () => {
  const b = mockQuotePacket();
  assert.equal(b.subarray(0, 8).toString('hex'), '00063a0100026683', 'fixture matches the verified first bytes');
  const frame = parseBinaryFrame(frameOf(b));
  assert.equal(frame.type, 'ticks');
  if (frame.type !== 'ticks') return;
  assert.deepEqual(frame.problems, []);
  const t = frame.ticks[0] as QuoteTick;
  assert.deepEqual(t, {
    kind: 'quote', instrumentToken: 408065, divisor: 100, lastPrice: 157315, lastTradedQuantity: 1,
    averageTradedPrice: 157033, volumeTraded: 1175986, totalBuyQuantity: 256511, totalSellQuantity: 360503,
    ohlc: { open: 156915, high: 157500, low: 156105, close: 156780 },
  });
  assert.equal(toRupees(t.lastPrice, t.divisor), 1573.15);
  assert.equal(modeOf(t), 'quote');
  assert.equal(tradable(t), true);
});

test('the full packet of the official mocks decodes depth as 5 bids then 5 asks', () => {
  const frame = parseBinaryFrame(frameOf(mockFullPacket()));
  assert.equal(frame.type, 'ticks');
  if (frame.type !== 'ticks') return;
  const t = frame.ticks[0] as FullTick;
  assert.equal(t.kind, 'full');
  assert.equal(t.lastPrice, 157370);
  assert.equal(t.lastTradeTime, 1625461887);
  assert.equal(t.exchangeTimestamp, 1625461887);
  assert.deepEqual(t.depth.buy.map((l) => [l.price, l.quantity, l.orders]), MOCK_BUY.map((x) => [...x]));
  assert.deepEqual(t.depth.sell.map((l) => [l.price, l.quantity, l.orders]), MOCK_SELL.map((x) => [...x]));
  assert.equal(toRupees(t.depth.buy[0]!.price, t.divisor), 1573.4);
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
