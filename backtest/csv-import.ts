/**
 * Candles from a CSV file (`orch data import`), for data from anywhere else. All or nothing:
 * every row is checked, every bad row is reported as `file:line: field: what`, and a file with
 * any error stores nothing (a backtest on a silently thinned series would look fine and be wrong).
 *
 * The file (docs/backtest.md, "CSV import"): a header row, then one candle per row.
 *   time     ISO 8601 with an offset (`2026-11-20T09:15:00+05:30`, `…Z`), or, with `--tz`, without
 *            one (`2026-11-20 09:15:00`); or epoch milliseconds. Column name: ts, time, timestamp,
 *            date or datetime (any case).
 *   open, high, low, close   decimals in the venue's major unit (rupees for Kite, dollars for
 *            Kalshi), converted exactly to its minor unit (paise; hundredths of a cent), never via
 *            binary floats; with `units: 'minor'` whole numbers in the minor unit.
 *   volume   a whole number; `oi` optional. Other columns are ignored (and named in the result).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Venue } from '../actors/messages.ts';
import { CandleSchema, type Candle, type CandleSeries, type StoreOptions, writeCandles } from './store.ts';

/** Minor units per major unit, and the most decimals a major-unit price may have. */
const MINOR: Record<Venue, { per: bigint; decimals: number }> = {
  kite: { per: 100n, decimals: 2 }, // rupees → paise
  kalshi: { per: 10_000n, decimals: 4 }, // dollars → hundredths of a cent
};

const TIME_COLUMNS = ['ts', 'time', 'timestamp', 'date', 'datetime'];
const PRICE_COLUMNS = ['open', 'high', 'low', 'close'] as const;

export type CsvImportOptions = CandleSeries & {
  /** Prices as decimals in the major unit (default) or as whole minor units. */
  units?: 'major' | 'minor';
  /** Offset for times written without one, e.g. `+05:30`; without it such a time is an error. */
  tz?: string;
  /** How many errors to keep in the result (all are counted). Default 100. */
  maxErrors?: number;
};

export type CsvRowError = { file: string; line: number; field: string; message: string };
export type CsvParseResult = { candles: Candle[]; errors: CsvRowError[]; errorCount: number; ignoredColumns: string[] };

export class CsvImportError extends Error {
  override readonly name = 'CsvImportError';
  readonly code = 'csv_invalid';
  constructor(readonly errors: CsvRowError[], readonly errorCount: number) {
    super(`${errorCount} error${errorCount === 1 ? '' : 's'}; nothing imported:\n${errors.map(formatRowError).join('\n')}${errorCount > errors.length ? `\n… and ${errorCount - errors.length} more` : ''}`);
  }
}

export function formatRowError(e: CsvRowError): string {
  return `${e.file}:${e.line}: ${e.field}: ${e.message}`;
}

const TzSchema = z.string().regex(/^[+-]\d{2}:\d{2}$|^Z$/, 'an offset such as +05:30 or Z');

/** Parses the whole text; never throws for a bad row, only collects. */
export function parseCandleCsv(text: string, file: string, o: CsvImportOptions): CsvParseResult {
  const series = { venue: o.venue, instrument: o.instrument, interval: o.interval };
  const maxErrors = o.maxErrors ?? 100;
  const errors: CsvRowError[] = [];
  let errorCount = 0;
  const fail = (line: number, field: string, message: string) => {
    errorCount++;
    if (errors.length < maxErrors) errors.push({ file, line, field, message });
  };
  const tz = o.tz === undefined ? undefined : TzSchema.safeParse(o.tz);
  if (tz && !tz.success) return { candles: [], errors: [{ file, line: 0, field: '--tz', message: tz.error.issues[0]!.message }], errorCount: 1, ignoredColumns: [] };

  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.trim().toLowerCase());
  const col = (names: readonly string[]) => header.findIndex((h) => names.includes(h));
  const at = { time: col(TIME_COLUMNS), open: col(['open']), high: col(['high']), low: col(['low']), close: col(['close']), volume: col(['volume']), oi: col(['oi']) };
  const missing = (['time', 'open', 'high', 'low', 'close', 'volume'] as const).filter((k) => at[k] < 0);
  if (missing.length) {
    return { candles: [], errors: [{ file, line: 1, field: '(header)', message: `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (have: ${header.join(', ') || 'nothing'})` }], errorCount: 1, ignoredColumns: [] };
  }
  const used = new Set(Object.values(at).filter((i) => i >= 0));
  const ignoredColumns = header.filter((_, i) => !used.has(i));

  const candles: Candle[] = [];
  const seen = new Map<number, number>();
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = i + 1;
    if (raw.trim() === '') continue;
    const cells = splitCsvLine(raw);
    if (cells.length !== header.length) {
      fail(line, '(row)', `${cells.length} fields, the header has ${header.length}`);
      continue;
    }
    const cell = (k: keyof typeof at) => (at[k] >= 0 ? cells[at[k]]!.trim() : '');
    let bad = false;
    const ts = parseTime(cell('time'), tz?.data);
    if (typeof ts === 'string') {
      fail(line, header[at.time]!, ts);
      bad = true;
    }
    const prices: Record<string, number> = {};
    for (const k of PRICE_COLUMNS) {
      const v = parsePrice(cell(k), o.venue, o.units ?? 'major');
      if (typeof v === 'string') {
        fail(line, k, v);
        bad = true;
      } else prices[k] = v;
    }
    const volume = parseWhole(cell('volume'));
    if (typeof volume === 'string') {
      fail(line, 'volume', volume);
      bad = true;
    }
    const oiText = cell('oi');
    const oi = oiText === '' ? undefined : parseWhole(oiText);
    if (typeof oi === 'string') {
      fail(line, 'oi', oi);
      bad = true;
    }
    if (bad) continue;
    const c = { ...series, ts: ts as number, open: prices.open!, high: prices.high!, low: prices.low!, close: prices.close!, volume: volume as number, ...(oi !== undefined ? { oi: oi as number } : {}) };
    const r = CandleSchema.safeParse(c);
    if (!r.success) {
      for (const issue of r.error.issues) fail(line, issue.path.join('.') || '(row)', issue.message);
      continue;
    }
    const prev = seen.get(c.ts);
    if (prev !== undefined) {
      fail(line, header[at.time]!, `same time as line ${prev} (${new Date(c.ts).toISOString()})`);
      continue;
    }
    seen.set(c.ts, line);
    candles.push(r.data as Candle);
  }
  if (candles.length === 0 && errorCount === 0) fail(1, '(file)', 'no candles after the header');
  return { candles: errorCount ? [] : candles.sort((a, b) => a.ts - b.ts), errors, errorCount, ignoredColumns };
}

/** Reads, checks every row, and stores the candles only when every row is good. */
export async function importCandleCsv(file: string, o: CsvImportOptions, store: StoreOptions = {}): Promise<{ candles: number; ignoredColumns: string[] }> {
  const text = await readFile(file, 'utf8');
  const r = parseCandleCsv(text, file, o);
  if (r.errorCount > 0) throw new CsvImportError(r.errors, r.errorCount);
  await writeCandles(r.candles, store);
  return { candles: r.candles.length, ignoredColumns: r.ignoredColumns };
}

/** One CSV record on one line: commas, double-quoted fields with "" for a quote. */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function parseTime(s: string, tz: string | undefined): number | string {
  if (s === '') return 'empty';
  if (/^\d{10,16}$/.test(s)) return Number(s) < 1e11 ? `${s} looks like epoch seconds; write epoch milliseconds or an ISO time` : Number(s);
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?))?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (!m) return `${JSON.stringify(s)} is not an ISO 8601 time or epoch milliseconds`;
  const [, date, time = '00:00:00', offset] = m;
  const off = offset ?? tz;
  if (off === undefined) return `${JSON.stringify(s)} has no UTC offset: add one (+05:30, Z) or pass --tz`;
  const iso = `${date}T${time.length === 5 ? `${time}:00` : time}${off === 'Z' ? 'Z' : off.includes(':') ? off : `${off.slice(0, 3)}:${off.slice(3)}`}`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms) || new Date(Date.parse(`${date}T00:00:00Z`)).toISOString().slice(0, 10) !== date) return `${JSON.stringify(s)} is not a real date and time`;
  return ms;
}

/** A decimal price → exact minor units, by its digits (no binary float on the way). */
function parsePrice(s: string, venue: Venue, units: 'major' | 'minor'): number | string {
  if (s === '') return 'empty';
  if (units === 'minor') return parseWhole(s);
  const { per, decimals } = MINOR[venue];
  const m = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) return `${JSON.stringify(s)} is not a non-negative decimal`;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > decimals) return `${s} has more than ${decimals} decimals (${venue === 'kite' ? 'whole paise' : 'whole hundredths of a cent'} only)`;
  const minor = BigInt(m[1]!) * per + BigInt(frac.padEnd(decimals, '0') || '0');
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) return `${s} is too large`;
  return Number(minor);
}

function parseWhole(s: string): number | string {
  if (!/^\d+$/.test(s)) return s === '' ? 'empty' : `${JSON.stringify(s)} is not a whole non-negative number`;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : `${s} is too large`;
}
