/**
 * Kite ticker binary packets (docs/venues/kite.md, "Ticker packets"), all big-endian, prices in paise:
 * LTP 8 B; index 28 (quote) / 32 (full) with H,L,O,C order; tradable 44 (quote) / 184 (full)
 * with O,H,L,C order and 5+5 depth of 12 B entries. F&O contracts (NFO, segment 2) use the
 * tradable layout with the same divisor (100); their full packets carry open interest at 48-60.
 */
import type { SimInstrument } from './instruments.ts';
import { averagePricePaise, type DepthLevel, type MarketState } from './market.ts';

/**
 * Kite's ticker modes as the wire names them. The system's own is config/tick-mode.ts; this
 * conformance peer keeps its own copy on purpose (it shares no code with what it checks:
 * test/sim-kite/independence.test.ts).
 */
export type TickMode = 'ltp' | 'quote' | 'full';

export function encodePacket(inst: SimInstrument, s: MarketState, mode: TickMode, nowMs: number): Buffer {
  const token = inst.instrumentToken;
  if (mode === 'ltp') {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(token, 0);
    b.writeInt32BE(s.lastPaise, 4);
    return b;
  }
  const nowSec = Math.floor(nowMs / 1000);
  if (!inst.tradable) {
    const b = Buffer.alloc(mode === 'full' ? 32 : 28);
    b.writeUInt32BE(token, 0);
    b.writeInt32BE(s.lastPaise, 4);
    b.writeInt32BE(s.highPaise, 8);
    b.writeInt32BE(s.lowPaise, 12);
    b.writeInt32BE(s.openPaise, 16);
    b.writeInt32BE(s.closePaise, 20);
    b.writeInt32BE(s.lastPaise - s.closePaise, 24);
    if (mode === 'full') b.writeUInt32BE(nowSec, 28);
    return b;
  }
  const b = Buffer.alloc(mode === 'full' ? 184 : 44);
  b.writeUInt32BE(token, 0);
  b.writeInt32BE(s.lastPaise, 4);
  b.writeInt32BE(s.lastQuantity, 8);
  b.writeInt32BE(averagePricePaise(s), 12);
  b.writeInt32BE(s.volume, 16);
  b.writeInt32BE(s.totalBuyQuantity, 20);
  b.writeInt32BE(s.totalSellQuantity, 24);
  b.writeInt32BE(s.openPaise, 28);
  b.writeInt32BE(s.highPaise, 32);
  b.writeInt32BE(s.lowPaise, 36);
  b.writeInt32BE(s.closePaise, 40);
  if (mode === 'quote') return b;
  b.writeUInt32BE(Math.floor(s.lastTradeMs / 1000), 44);
  // Open interest, the day's high and low of it: 0 for equities.
  b.writeUInt32BE(s.oi, 48);
  b.writeUInt32BE(s.oiDayHigh, 52);
  b.writeUInt32BE(s.oiDayLow, 56);
  b.writeUInt32BE(nowSec, 60);
  const levels: (DepthLevel | undefined)[] = [...pad5(s.bids), ...pad5(s.asks)];
  levels.forEach((l, i) => {
    const at = 64 + i * 12;
    b.writeInt32BE(l?.quantity ?? 0, at);
    b.writeInt32BE(l?.pricePaise ?? 0, at + 4);
    b.writeInt16BE(l?.orders ?? 0, at + 8);
  });
  return b;
}

function pad5(levels: DepthLevel[]): (DepthLevel | undefined)[] {
  return Array.from({ length: 5 }, (_, i) => levels[i]);
}

/** `[u16 count][u16 len][packet]...` */
export function encodeFrame(packets: Buffer[]): Buffer {
  const size = 2 + packets.reduce((a, p) => a + 2 + p.length, 0);
  const out = Buffer.alloc(size);
  out.writeUInt16BE(packets.length, 0);
  let at = 2;
  for (const p of packets) {
    out.writeUInt16BE(p.length, at);
    p.copy(out, at + 2);
    at += 2 + p.length;
  }
  return out;
}

/** One byte: clients treat frames this short as keep-alive only. */
export const HEARTBEAT = Buffer.from([0]);
