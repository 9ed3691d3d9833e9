import { PACKET_LENGTH, type Tick } from './ticker-parser.ts';
import { assertNever } from '../../actors/assert-never.ts';

/**
 * The inverse of ticker-parser: builds the exact bytes Kite sends, so the simulator and tests
 * speak the wire format without a second hand-written layout that could drift.
 */

export const HEARTBEAT: Uint8Array = Uint8Array.of(0);

export function encodeFrame(ticks: readonly Tick[]): Uint8Array {
  const packets = ticks.map(encodePacket);
  const size = 2 + packets.reduce((n, p) => n + 2 + p.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint16(0, packets.length);
  let at = 2;
  for (const p of packets) {
    v.setUint16(at, p.length);
    out.set(p, at + 2);
    at += 2 + p.length;
  }
  return out;
}

export function encodePacket(t: Tick): Uint8Array {
  const out = new Uint8Array(PACKET_LENGTH[t.kind]);
  const v = new DataView(out.buffer);
  v.setUint32(0, t.instrumentToken);
  v.setInt32(4, t.lastPrice);
  switch (t.kind) {
    case 'ltp':
      break;
    case 'index_quote':
    case 'index_full':
      v.setInt32(8, t.ohlc.high);
      v.setInt32(12, t.ohlc.low);
      v.setInt32(16, t.ohlc.open);
      v.setInt32(20, t.ohlc.close);
      v.setInt32(24, t.change);
      if (t.kind === 'index_full') v.setUint32(28, t.exchangeTimestamp);
      break;
    case 'quote':
    case 'full':
      v.setUint32(8, t.lastTradedQuantity);
      v.setInt32(12, t.averageTradedPrice);
      v.setUint32(16, t.volumeTraded);
      v.setUint32(20, t.totalBuyQuantity);
      v.setUint32(24, t.totalSellQuantity);
      v.setInt32(28, t.ohlc.open);
      v.setInt32(32, t.ohlc.high);
      v.setInt32(36, t.ohlc.low);
      v.setInt32(40, t.ohlc.close);
      if (t.kind === 'full') {
        v.setUint32(44, t.lastTradeTime);
        v.setUint32(48, t.oi);
        v.setUint32(52, t.oiDayHigh);
        v.setUint32(56, t.oiDayLow);
        v.setUint32(60, t.exchangeTimestamp);
        const levels = [...pad5(t.depth.buy), ...pad5(t.depth.sell)];
        levels.forEach((l, i) => {
          const o = 64 + i * 12;
          v.setUint32(o, l.quantity);
          v.setInt32(o + 4, l.price);
          v.setUint16(o + 8, l.orders);
        });
      }
      break;
    default:
      return assertNever(t);
  }
  return out;
}

/** Kite always sends five levels a side, zero-filled when the book is thin. */
function pad5<T extends { quantity: number; price: number; orders: number }>(levels: readonly T[]): { quantity: number; price: number; orders: number }[] {
  const out = levels.slice(0, 5).map((l) => ({ quantity: l.quantity, price: l.price, orders: l.orders }));
  while (out.length < 5) out.push({ quantity: 0, price: 0, orders: 0 });
  return out;
}

/** Client→server control messages (docs/venues/kite.md, "Ticker packets"). */
export type ControlMessage =
  | { a: 'subscribe'; v: number[] }
  | { a: 'unsubscribe'; v: number[] }
  | { a: 'mode'; v: [mode: 'ltp' | 'quote' | 'full', tokens: number[]] };

export function encodeControl(m: ControlMessage): string {
  return JSON.stringify(m);
}
