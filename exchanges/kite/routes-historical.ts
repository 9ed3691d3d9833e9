/**
 * Historical candles. The past is a deterministic function of (token, minute) rather than a
 * stored series: any range is answerable, the same query always returns the same candles,
 * and nothing depends on how long the sim has been running.
 */
import { z } from 'zod';
import type { SimContext } from './context.ts';
import { inputError } from './errors.ts';
import { ok, validate, type Router } from './http-kit.ts';
import { isDerivative, tickPaiseOf, type SimInstrument } from './instruments.ts';
import { snapToTick } from './market.ts';
import { IST_OFFSET_MS } from './time.ts';

const INTERVAL_MINUTES = { minute: 1, '3minute': 3, '5minute': 5, '10minute': 10, '15minute': 15, '30minute': 30, '60minute': 60, day: 375 } as const;
type Interval = keyof typeof INTERVAL_MINUTES;
/** Longest range per call, in days (Kite's documented caps). */
const MAX_DAYS: Record<Interval, number> = { minute: 60, '3minute': 100, '5minute': 100, '10minute': 100, '15minute': 200, '30minute': 200, '60minute': 400, day: 2000 };
const DAY_MS = 86_400_000;
const SESSION_OPEN_MIN = 9 * 60 + 15; // 09:15 IST
const SESSION_MINUTES = 375; // to 15:30 IST

const IstDate = z.string().regex(/^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$/, 'use yyyy-mm-dd hh:mm:ss');
const Query = z.object({
  from: IstDate,
  to: IstDate,
  continuous: z.enum(['0', '1']).optional(),
  oi: z.enum(['0', '1']).optional(),
});
const Params = z.object({
  instrument_token: z.string().regex(/^\d+$/, 'must be numeric'),
  interval: z.enum(Object.keys(INTERVAL_MINUTES) as [Interval, ...Interval[]]),
});

/** "yyyy-mm-dd[ hh:mm[:ss]]" read as IST → epoch ms. */
function parseIst(s: string): number {
  const [d, t = '00:00:00'] = s.split(' ');
  return Date.parse(`${d}T${t.length === 5 ? t + ':00' : t}Z`) - IST_OFFSET_MS;
}

/** "2017-12-15T09:15:00+0530", Kite's candle timestamp. */
function candleTime(ms: number): string {
  return new Date(ms + IST_OFFSET_MS).toISOString().slice(0, 19) + '+0530';
}

/** Integer hash → [0, 1). */
function noise(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be59b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** Price in paise at an absolute minute: slow swings plus a little noise around the close, on the instrument's grid. */
function priceAt(inst: SimInstrument, minute: number): number {
  const token = inst.instrumentToken;
  const swing = 0.04 * Math.sin(minute / 9000 + token) + 0.012 * Math.sin(minute / 170 + token / 7);
  return snapToTick(inst.closePaise * (1 + swing + 0.002 * (noise(token, minute) - 0.5)), tickPaiseOf(inst));
}

/** Open interest (units, whole lots) at an absolute minute; 0 for what has none. */
function oiAt(inst: SimInstrument, minute: number): number {
  if (!isDerivative(inst)) return 0;
  const lots = 170_000 * (1 + 0.1 * Math.sin(minute / 4000 + inst.instrumentToken) + 0.01 * (noise(minute, inst.instrumentToken ^ 0x5bd1e995) - 0.5));
  return Math.round(lots) * inst.lotSize;
}

export function addHistoricalRoutes(r: Router, ctx: SimContext): void {
  r.add('GET', '/instruments/historical/:instrument_token/:interval', { kind: 'api', rate: 'historical' }, (req) => {
    const p = validate(Params, req.params);
    const q = validate(Query, Object.fromEntries(req.query));
    const inst = ctx.index.token(Number(p.instrument_token));
    if (!inst) throw inputError('Invalid `instrument_token`.');
    const from = parseIst(q.from);
    const to = Math.min(parseIst(q.to), ctx.clock.now());
    if (Number.isNaN(from) || Number.isNaN(to)) throw inputError('Invalid `from` or `to` date.');
    if (parseIst(q.to) - from > MAX_DAYS[p.interval] * DAY_MS) throw inputError(`Invalid \`to\`: interval exceeds max limit: ${MAX_DAYS[p.interval]} days.`);
    const step = INTERVAL_MINUTES[p.interval];
    const withOi = q.oi === '1';
    const candles: (string | number)[][] = [];
    for (let day = Math.floor((from + IST_OFFSET_MS) / DAY_MS); day * DAY_MS - IST_OFFSET_MS <= to; day++) {
      const weekday = new Date(day * DAY_MS).getUTCDay();
      if (weekday === 0 || weekday === 6) continue;
      const dayStartMs = day * DAY_MS - IST_OFFSET_MS;
      for (let off = 0; off < SESSION_MINUTES; off += step) {
        const startMin = p.interval === 'day' ? 0 : SESSION_OPEN_MIN + off;
        const startMs = dayStartMs + startMin * 60_000;
        if (startMs < from || startMs > to) continue;
        const absMinute = day * 1440 + SESSION_OPEN_MIN + off;
        const len = Math.min(step, SESSION_MINUTES - off);
        let high = 0;
        let low = Number.MAX_SAFE_INTEGER;
        let volume = 0;
        for (let m = 0; m <= len; m++) {
          const px = priceAt(inst, absMinute + m);
          high = Math.max(high, px);
          low = Math.min(low, px);
          if (m < len && inst.tradable) {
            const v = 100 + Math.floor(noise(absMinute + m, inst.instrumentToken) * 5000);
            volume += isDerivative(inst) ? Math.ceil(v / inst.lotSize) * inst.lotSize : v; // F&O trades whole lots
          }
        }
        const open = priceAt(inst, absMinute);
        const close = priceAt(inst, absMinute + len);
        const row: (string | number)[] = [candleTime(startMs), open / 100, high / 100, low / 100, close / 100, volume];
        if (withOi) row.push(oiAt(inst, absMinute + len));
        candles.push(row);
      }
    }
    return ok({ candles });
  });
}
