import { z } from 'zod';
import type { TickMode } from '../../config/tick-mode.ts';
import { assertNever } from '../../actors/assert-never.ts';

/**
 * Pure decoder for the Kite ticker's frames (docs/venues/kite.md, "Ticker packets"). Prices stay integers in the
 * segment's wire unit (paise for NSE/BSE/NFO/MCX, 1e-7 rupee for CDS, 1e-4 for BCD) with the
 * divisor alongside, so nothing downstream computes money in binary floats. The parser never
 * throws on venue bytes: a malformed frame is reported, not raised into the socket loop.
 */

export const SEGMENT = { NSE: 1, NFO: 2, CDS: 3, BSE: 4, BFO: 5, BCD: 6, MCX: 7, MCXSX: 8, INDICES: 9 } as const;

export function segmentOf(token: number): number {
  return token & 0xff;
}

export function priceDivisor(token: number): number {
  const seg = segmentOf(token);
  if (seg === SEGMENT.CDS) return 10_000_000;
  if (seg === SEGMENT.BCD) return 10_000;
  return 100;
}

export type Ohlc = { open: number; high: number; low: number; close: number };
export type DepthLevel = { quantity: number; price: number; orders: number };
export type Depth = { buy: DepthLevel[]; sell: DepthLevel[] };

type TickBase = { instrumentToken: number; divisor: number; lastPrice: number };
export type LtpTick = TickBase & { kind: 'ltp' };
export type IndexQuoteTick = TickBase & { kind: 'index_quote'; ohlc: Ohlc; change: number };
export type IndexFullTick = TickBase & { kind: 'index_full'; ohlc: Ohlc; change: number; exchangeTimestamp: number };
export type QuoteTick = TickBase & {
  kind: 'quote';
  lastTradedQuantity: number;
  averageTradedPrice: number;
  volumeTraded: number;
  totalBuyQuantity: number;
  totalSellQuantity: number;
  ohlc: Ohlc;
};
export type FullTick = Omit<QuoteTick, 'kind'> & {
  kind: 'full';
  /** Unix seconds. */
  lastTradeTime: number;
  oi: number;
  oiDayHigh: number;
  oiDayLow: number;
  /** Unix seconds. */
  exchangeTimestamp: number;
  depth: Depth;
};
export type Tick = LtpTick | IndexQuoteTick | IndexFullTick | QuoteTick | FullTick;
export type TickKind = Tick['kind'];

export const PACKET_LENGTH: Readonly<Record<TickKind, number>> = {
  ltp: 8,
  index_quote: 28,
  index_full: 32,
  quote: 44,
  full: 184,
};

export function modeOf(t: Tick): TickMode {
  switch (t.kind) {
    case 'ltp':
      return 'ltp';
    case 'index_quote':
    case 'quote':
      return 'quote';
    case 'index_full':
    case 'full':
      return 'full';
    default:
      return assertNever(t);
  }
}

export function tradable(t: Tick): boolean {
  return segmentOf(t.instrumentToken) !== SEGMENT.INDICES;
}

/** Convenience for display only: computation stays on the integer fields. */
export function toRupees(raw: number, divisor: number): number {
  return raw / divisor;
}

export type BinaryFrame =
  | { type: 'heartbeat' }
  | { type: 'ticks'; ticks: Tick[]; problems: string[] };

/** Decodes one binary WebSocket message: a heartbeat or a batch of packets. */
export function parseBinaryFrame(bytes: Uint8Array): BinaryFrame {
  // Kite's keep-alive is a single byte; the official clients ignore anything under 2 bytes.
  if (bytes.length < 2) return { type: 'heartbeat' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint16(0);
  const ticks: Tick[] = [];
  const problems: string[] = [];
  let at = 2;
  for (let i = 0; i < count; i++) {
    if (at + 2 > bytes.length) {
      problems.push(`frame truncated at packet ${i} of ${count} (no length)`);
      break;
    }
    const len = view.getUint16(at);
    at += 2;
    if (at + len > bytes.length) {
      problems.push(`frame truncated at packet ${i} of ${count} (needs ${len} bytes, has ${bytes.length - at})`);
      break;
    }
    const tick = parsePacket(new DataView(bytes.buffer, bytes.byteOffset + at, len));
    if (tick) ticks.push(tick);
    else problems.push(`packet ${i}: unknown length ${len}`);
    at += len;
  }
  if (problems.length === 0 && at !== bytes.length) problems.push(`${bytes.length - at} trailing bytes after ${count} packets`);
  return { type: 'ticks', ticks, problems };
}

/** One packet; its kind follows from its length. Undefined for a length Kite does not send. */
export function parsePacket(v: DataView): Tick | undefined {
  if (v.byteLength < 8) return undefined;
  const instrumentToken = v.getUint32(0);
  const divisor = priceDivisor(instrumentToken);
  const lastPrice = v.getInt32(4);
  const base = { instrumentToken, divisor, lastPrice };
  switch (v.byteLength) {
    case 8:
      return { kind: 'ltp', ...base };
    case 28:
    case 32: {
      // Indices send H, L, O, C — a different order from tradable instruments.
      const ohlc = { high: v.getInt32(8), low: v.getInt32(12), open: v.getInt32(16), close: v.getInt32(20) };
      const change = v.getInt32(24);
      if (v.byteLength === 28) return { kind: 'index_quote', ...base, ohlc: orderOhlc(ohlc), change };
      return { kind: 'index_full', ...base, ohlc: orderOhlc(ohlc), change, exchangeTimestamp: v.getUint32(28) };
    }
    case 44:
    case 184: {
      const quote = {
        ...base,
        lastTradedQuantity: v.getUint32(8),
        averageTradedPrice: v.getInt32(12),
        volumeTraded: v.getUint32(16),
        totalBuyQuantity: v.getUint32(20),
        totalSellQuantity: v.getUint32(24),
        ohlc: { open: v.getInt32(28), high: v.getInt32(32), low: v.getInt32(36), close: v.getInt32(40) },
      };
      if (v.byteLength === 44) return { kind: 'quote', ...quote };
      const buy: DepthLevel[] = [];
      const sell: DepthLevel[] = [];
      for (let i = 0; i < 10; i++) {
        const o = 64 + i * 12;
        const level = { quantity: v.getUint32(o), price: v.getInt32(o + 4), orders: v.getUint16(o + 8) };
        (i < 5 ? buy : sell).push(level);
      }
      return {
        kind: 'full',
        ...quote,
        lastTradeTime: v.getUint32(44),
        oi: v.getUint32(48),
        oiDayHigh: v.getUint32(52),
        oiDayLow: v.getUint32(56),
        exchangeTimestamp: v.getUint32(60),
        depth: { buy, sell },
      };
    }
    default:
      return undefined;
  }
}

function orderOhlc(o: Ohlc): Ohlc {
  return { open: o.open, high: o.high, low: o.low, close: o.close };
}

// ---- text frames -------------------------------------------------------------------------

/**
 * Order updates are postback-shaped orders. Only the fields the broker keys on are required;
 * the rest pass through untouched. Order ids are numeric strings of up to 19 digits and must
 * never become JS numbers.
 */
export const TickerOrderUpdateSchema = z.looseObject({
  order_id: z.string().min(1),
  status: z.string(),
  tag: z.string().nullable().optional(),
  exchange_order_id: z.string().nullable().optional(),
  tradingsymbol: z.string().optional(),
  instrument_token: z.number().optional(),
  filled_quantity: z.number().optional(),
  pending_quantity: z.number().optional(),
  average_price: z.number().optional(),
  exchange_update_timestamp: z.string().nullable().optional(),
  order_timestamp: z.string().nullable().optional(),
});
export type TickerOrderUpdate = z.infer<typeof TickerOrderUpdateSchema>;

const TextFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('order'), data: TickerOrderUpdateSchema }),
  z.object({ type: z.literal('error'), data: z.string() }),
  z.object({ type: z.literal('message'), data: z.unknown() }),
]);

export type TextFrame =
  | { type: 'order'; data: TickerOrderUpdate }
  | { type: 'error'; data: string }
  | { type: 'message'; data: unknown }
  | { type: 'invalid'; reason: string; raw: string };

export function parseTextFrame(text: string): TextFrame {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { type: 'invalid', reason: 'not JSON', raw: clip(text) };
  }
  const r = TextFrameSchema.safeParse(json);
  if (!r.success) return { type: 'invalid', reason: z.prettifyError(r.error), raw: clip(text) };
  return r.data as TextFrame;
}

function clip(s: string): string {
  return s.length > 500 ? `${s.slice(0, 500)}…` : s;
}
