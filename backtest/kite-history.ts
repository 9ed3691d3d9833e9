/**
 * Kite historical candles into the local store (`orch data kite`). Kite's endpoint
 * (https://kite.trade/docs/connect/v3/historical/, docs/venues/kite.md "Historical candles")
 * takes IST wall-clock `from`/`to` (both inclusive), caps how many days one call may span per
 * interval, and answers `[timestamp, open, high, low, close, volume(, oi)]` in rupees. Every call
 * goes through the client, so through the shared limiter's `kite.historical` category (3/s).
 */
import type { KiteRestClient } from '../broker/kite/rest-client.ts';
import type { KiteRetry } from '../broker/kite/retry.ts';
import type { KiteHistoricalCandle } from '../broker/kite/schemas.ts';
import { IST_OFFSET_MS } from '../broker/kite/market-hours.ts';
import { writeCandles, type Candle, type Interval, type StoreOptions } from './store.ts';
import { parseWhen, VENUE_ZONE, WhenError } from './when.ts';

const DAY_MS = 86_400_000;
const SECOND_MS = 1_000;

/** The longest span one call may ask for, in days, per interval (Kite's documented caps). */
export const KITE_MAX_DAYS: Record<Interval, number> = {
  minute: 60, '3minute': 100, '5minute': 100, '10minute': 100, '15minute': 200, '30minute': 200, '60minute': 400, day: 2000,
};

/** Epoch ms → `yyyy-mm-dd hh:mm:ss` in IST, the form Kite's `from`/`to` take. */
export function formatIst(ms: number): string {
  return new Date(ms + IST_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * A date or time the user typed, read as `orch data kite` reads it (backtest/when.ts) in IST,
 * NSE's clock: `2026-11-20`, `2026-11-20 09:15`, `2026-11-20T09:15:00`, or with an offset. A
 * bare date means the start of that day, or its last second when `endOfDay` (so `--to
 * 2026-11-20` includes the 20th). Undefined when it is none of these.
 */
export function parseIstInput(text: string, o: { endOfDay?: boolean } = {}): number | undefined {
  try {
    return parseWhen(text, { option: 'when', zone: VENUE_ZONE.kite, ...(o.endOfDay ? { end: 'last-second' as const } : {}) });
  } catch (e) {
    if (e instanceof WhenError) return undefined;
    throw e;
  }
}

/**
 * [from, to] (inclusive, whole seconds) cut into spans Kite accepts for the interval, in order,
 * each at most `KITE_MAX_DAYS` days long, touching none of the others.
 */
export function kiteRanges(from: number, to: number, interval: Interval): { from: number; to: number }[] {
  const span = KITE_MAX_DAYS[interval] * DAY_MS - SECOND_MS;
  const out: { from: number; to: number }[] = [];
  for (let a = from; a <= to; a += span + SECOND_MS) out.push({ from: a, to: Math.min(a + span, to) });
  return out;
}

/** `2017-12-15T09:15:00+0530` (Kite writes the offset without a colon) → epoch ms. */
export function parseKiteTime(s: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})([+-])(\d{2}):?(\d{2})$/.exec(s);
  if (!m) throw new Error(`candle time ${JSON.stringify(s)} is not yyyy-mm-ddThh:mm:ss+hhmm`);
  const local = Date.parse(`${m[1]}Z`);
  const offset = (Number(m[3]) * 60 + Number(m[4])) * 60_000 * (m[2] === '+' ? 1 : -1);
  return local - offset;
}

/** Rupees on the wire → exact paise; a price that is not a whole number of paise is refused, not rounded away. */
export function rupeesToPaise(rupees: number, field: string): number {
  const paise = Math.round(rupees * 100);
  if (!Number.isFinite(rupees) || rupees < 0 || Math.abs(rupees * 100 - paise) > 1e-6) throw new Error(`${field} ${rupees} is not a whole number of paise`);
  return paise;
}

export function candleFromKite(row: KiteHistoricalCandle, series: Pick<Candle, 'venue' | 'instrument' | 'interval'>): Candle {
  const [time, open, high, low, close, volume, oi] = row;
  if (!Number.isSafeInteger(volume) || volume < 0) throw new Error(`volume ${volume} at ${time} is not a whole number`);
  return {
    ...series,
    ts: parseKiteTime(time),
    open: rupeesToPaise(open, `open at ${time}`),
    high: rupeesToPaise(high, `high at ${time}`),
    low: rupeesToPaise(low, `low at ${time}`),
    close: rupeesToPaise(close, `close at ${time}`),
    volume,
    ...(oi !== undefined ? { oi } : {}),
  };
}

/** `NSE:INFY` → Kite's instrument_token, from the exchange's instruments dump. */
export async function kiteInstrumentToken(rest: KiteRestClient, instrument: string, retry?: KiteRetry): Promise<number> {
  const [exchange, symbol, extra] = instrument.split(':');
  if (!exchange || !symbol || extra !== undefined) throw new Error(`--instrument: expected EXCHANGE:TRADINGSYMBOL (e.g. NSE:INFY), got ${JSON.stringify(instrument)}`);
  const list = () => rest.getInstruments(exchange);
  const found = (await (retry ? retry.read(`instruments ${exchange}`, list) : list())).find((i) => i.tradingsymbol === symbol && i.exchange === exchange);
  if (!found) throw new Error(`--instrument: ${instrument} is not in Kite's ${exchange} instruments`);
  return found.instrument_token;
}

export type KiteDownload = {
  rest: KiteRestClient;
  /** `EXCHANGE:TRADINGSYMBOL`, e.g. NSE:INFY. */
  instrument: string;
  interval: Interval;
  /** Epoch ms, both inclusive (whole seconds). */
  from: number;
  to: number;
  /** Ask for open interest (F&O). */
  oi?: boolean;
  /** Retries a read that failed for a reason worth retrying (429 after its pause, 5xx, a lost connection: docs/venues/kite.md); absent = none. */
  retry?: KiteRetry;
  /** Called after each span is stored. */
  onSpan?: (done: { from: number; to: number; candles: number; span: number; spans: number }) => void;
};

/**
 * Downloads [from, to] span by span and stores each span as it arrives, so an interrupted
 * download keeps what it got and a rerun overwrites it with the same candles. Returns the counts.
 */
export async function downloadKiteCandles(d: KiteDownload, store: StoreOptions = {}): Promise<{ candles: number; requests: number; instrumentToken: number }> {
  const token = await kiteInstrumentToken(d.rest, d.instrument, d.retry);
  const spans = kiteRanges(d.from, d.to, d.interval);
  const series = { venue: 'kite' as const, instrument: d.instrument, interval: d.interval };
  let candles = 0;
  for (const [i, s] of spans.entries()) {
    const call = () => d.rest.getHistoricalData(token, d.interval, formatIst(s.from), formatIst(s.to), { ...(d.oi ? { oi: true } : {}) });
    const rows = await (d.retry ? d.retry.read(`historical ${d.instrument} ${d.interval}`, call) : call());
    const stored = await writeCandles(rows.map((r) => candleFromKite(r, series)), store);
    candles += stored;
    d.onSpan?.({ ...s, candles: stored, span: i + 1, spans: spans.length });
  }
  return { candles, requests: spans.length + 1, instrumentToken: token };
}
