/** Packet encoding, decoded by the official client's own parser (no socket needed). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KiteTicker } from 'kiteconnect';
import { defaultInstruments } from '../../../exchanges/kite/instruments.ts';
import type { MarketState } from '../../../exchanges/kite/market.ts';
import { encodeFrame, encodePacket } from '../../../exchanges/kite/ticker-packets.ts';

const parser: any = new KiteTicker({ api_key: 'k', access_token: 't', reconnect: false } as any);
const parse = (b: Buffer) => parser.parseBinary(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
const inst = (symbol: string) => defaultInstruments().find((i) => i.tradingsymbol === symbol)!;
const NOW = Date.UTC(2021, 6, 5, 5, 11, 27); // 2021-07-05 10:41:27 IST

const state: MarketState = {
  lastPaise: 157315, openPaise: 156000, highPaise: 158000, lowPaise: 155050, closePaise: 155500,
  lastQuantity: 7, volume: 12345, turnoverPaise: 12345 * 157000, totalBuyQuantity: 1000, totalSellQuantity: 2000,
  lastTradeMs: NOW - 1000,
  bids: [1, 2, 3, 4, 5].map((k) => ({ pricePaise: 157315 - 5 * k, quantity: 10 * k, orders: k })),
  asks: [1, 2, 3, 4, 5].map((k) => ({ pricePaise: 157315 + 5 * k, quantity: 20 * k, orders: k + 1 })),
  oi: 0, oiDayHigh: 0, oiDayLow: 0,
};

test('quote packet: 44 bytes, starts 00063a01 00026683 for INFY at 1573.15 (the KMK fixture prefix)', () => {
  const p = encodePacket(inst('INFY'), state, 'quote', NOW);
  assert.equal(p.length, 44);
  assert.equal(p.subarray(0, 8).toString('hex'), '00063a0100026683');
  const [t] = parse(encodeFrame([p]));
  assert.deepEqual(
    { mode: t.mode, last_price: t.last_price, qty: t.last_traded_quantity, avg: t.average_traded_price, vol: t.volume_traded, ohlc: t.ohlc },
    { mode: 'quote', last_price: 1573.15, qty: 7, avg: 1570, vol: 12345, ohlc: { open: 1560, high: 1580, low: 1550.5, close: 1555 } },
  );
  assert.ok(Math.abs(t.change - ((1573.15 - 1555) * 100) / 1555) < 1e-9);
});

test('full packet: 184 bytes, timestamps at 44 and 60, 5+5 depth of 12-byte entries bids first', () => {
  const p = encodePacket(inst('INFY'), state, 'full', NOW);
  assert.equal(p.length, 184);
  assert.equal(p.readUInt32BE(60), 1625461887);
  const [t] = parse(encodeFrame([p]));
  assert.equal(t.exchange_timestamp.getTime(), 1625461887000);
  assert.equal(t.last_trade_time.getTime(), 1625461886000);
  assert.deepEqual(t.depth.buy[0], { quantity: 10, price: 1573.1, orders: 1 });
  assert.deepEqual(t.depth.sell[4], { quantity: 100, price: 1573.4, orders: 6 });
});

test('index packets: 28/32 bytes with H,L,O,C at 8-24, not tradable; LTP packets are 8 bytes', () => {
  const nifty = inst('NIFTY 50');
  const q = encodePacket(nifty, state, 'quote', NOW);
  const f = encodePacket(nifty, state, 'full', NOW);
  const l = encodePacket(nifty, state, 'ltp', NOW);
  assert.deepEqual([q.length, f.length, l.length], [28, 32, 8]);
  assert.equal(q.readInt32BE(8), state.highPaise);
  assert.equal(q.readInt32BE(16), state.openPaise);
  const [tq, tf, tl] = parse(encodeFrame([q, f, l]));
  assert.deepEqual(tq.ohlc, { open: 1560, high: 1580, low: 1550.5, close: 1555 });
  assert.equal(tq.tradable, false);
  assert.equal(tf.mode, 'full');
  assert.equal(tf.exchange_timestamp.getTime(), 1625461887000);
  assert.deepEqual(tl, { tradable: false, mode: 'ltp', instrument_token: 256265, last_price: 1573.15 });
});
