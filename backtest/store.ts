/**
 * The local market-data store: candles (downloaded from Kite, imported from CSV, shipped as
 * samples) and recorded ticks, as JSON lines under one root directory. What the backtest runner
 * reads; nothing here talks to a venue or to NATS.
 *
 * Layout (docs/backtest.md, "Data"): under `root` (default `<state-dir>/data`, i.e. `.orch/data`)
 *
 *   candles/<venue>/<instrument>/<interval>/<YYYY-MM>.jsonl   one candle per line, time order
 *   ticks/<venue>/<instrument>/<YYYY-MM-DD>.jsonl             one tick per line, time order
 *
 * `<instrument>` is the symbol as the registry writes it, URI-encoded (`NSE:INFY` → `NSE%3AINFY`);
 * months and days are UTC. A line holds the fields the path does not (`{"ts":…,"open":…}`).
 *
 * Prices are exact integers in the venue's minor unit, as on the data plane (actors/messages.ts):
 * paise for Kite, hundredths of a cent for Kalshi (a price of $0.42 is 4200). Volumes are whole
 * units (Kite: shares or contracts' units; Kalshi: hundredths of a contract). Times are epoch ms.
 */
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { VenueSchema, TickSchema, type Tick, type Venue } from '../actors/messages.ts';

/** Candle intervals: Kite's names (https://kite.trade/docs/connect/v3/historical/). */
export const INTERVALS = ['minute', '3minute', '5minute', '10minute', '15minute', '30minute', '60minute', 'day'] as const;
export const IntervalSchema = z.enum(INTERVALS);
export type Interval = z.infer<typeof IntervalSchema>;

/**
 * A symbol as the registry names it (Kite `EXCHANGE:TRADINGSYMBOL`, e.g. `NSE:M&M`, `NSE:BAJAJ-AUTO`;
 * a Kalshi ticker such as `KXBTCD-26NOV2317-T99999.99`). No path separators and no leading dot, so
 * it is one safe directory name once URI-encoded.
 */
export const InstrumentSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9:._&\-]*$/, 'letters, digits and : . _ & - only, starting with a letter or digit');

const minor = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** 9999-12-31T23:59:59.999Z: file names keep four-digit years. */
const MAX_DATE_MS = 253_402_300_799_999;
const epochMs = z.number().int().nonnegative().max(MAX_DATE_MS);

/** What one line of a candle file holds: the candle without what its path says. */
export const CandleRowSchema = z.strictObject({
  /** Start of the candle, epoch ms. */
  ts: epochMs,
  open: minor,
  high: minor,
  low: minor,
  close: minor,
  volume: minor,
  /** Open interest at the close (F&O), when the source gave it. */
  oi: minor.optional(),
}).superRefine((c, ctx) => {
  if (c.high < Math.max(c.open, c.close, c.low)) ctx.addIssue({ code: 'custom', path: ['high'], message: `high ${c.high} is below open, close or low` });
  if (c.low > Math.min(c.open, c.close)) ctx.addIssue({ code: 'custom', path: ['low'], message: `low ${c.low} is above open or close` });
});
export type CandleRow = z.infer<typeof CandleRowSchema>;

export const CandleSeriesSchema = z.strictObject({ venue: VenueSchema, instrument: InstrumentSchema, interval: IntervalSchema });
export type CandleSeries = z.infer<typeof CandleSeriesSchema>;

export type Candle = CandleSeries & CandleRow;
/** A candle with the series it belongs to: what writeCandles takes and readCandles yields. */
export const CandleSchema = z.strictObject({ ...CandleSeriesSchema.shape, ...CandleRowSchema.shape }).superRefine((c, ctx) => {
  const r = CandleRowSchema.safeParse({ ts: c.ts, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume, ...(c.oi !== undefined ? { oi: c.oi } : {}) });
  if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
});

/** A recorded tick is the broker's tick message as it was published (actors/messages.ts TickSchema). */
export const RecordedTickSchema = TickSchema;
export type RecordedTick = Tick;

/** A line of the store that is not what the store writes: names its file, line and field. */
export class StoreDataError extends Error {
  override readonly name = 'StoreDataError';
  readonly code = 'store_data_invalid';
  constructor(readonly file: string, readonly line: number, readonly field: string, detail: string) {
    super(`${file}:${line}: ${field}: ${detail}`);
  }
}

export type StoreOptions = {
  /** Root of the store (default `.orch/data` under the working directory). */
  root?: string;
};
export type Range = { from: number; to: number };
export type CandleQuery = CandleSeries & Range;
export type TickQuery = { venue: Venue; instrument: string } & Range;

export const defaultStoreRoot = (stateDir = join(process.cwd(), '.orch')): string => join(stateDir, 'data');

const rootOf = (o: StoreOptions): string => o.root ?? defaultStoreRoot();
const seg = (instrument: string): string => encodeURIComponent(InstrumentSchema.parse(instrument));
const monthOf = (ms: number): string => new Date(ms).toISOString().slice(0, 7);
const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export function candleDir(s: CandleSeries, o: StoreOptions = {}): string {
  return join(rootOf(o), 'candles', VenueSchema.parse(s.venue), seg(s.instrument), IntervalSchema.parse(s.interval));
}
export function tickDir(venue: Venue, instrument: string, o: StoreOptions = {}): string {
  return join(rootOf(o), 'ticks', VenueSchema.parse(venue), seg(instrument));
}

/**
 * Stores candles, merged with what is there: a candle at a time already stored replaces it (a
 * re-download overwrites, never doubles), and every file stays in time order. Each touched file
 * is replaced whole by a rename, so a reader never sees half a file. Everything is validated
 * before anything is written: one bad candle and nothing is stored.
 * Returns how many candles were written.
 */
export async function writeCandles(candles: Iterable<Candle>, o: StoreOptions = {}): Promise<number> {
  const byFile = new Map<string, Map<number, CandleRow>>();
  let n = 0;
  for (const raw of candles) {
    const r = CandleSchema.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new Error(`candle ${n} (ts ${String((raw as { ts?: unknown }).ts)}): ${issue.path.join('.') || '(candle)'}: ${issue.message}`);
    }
    const c = r.data;
    const file = join(candleDir(c, o), `${monthOf(c.ts)}.jsonl`);
    let rows = byFile.get(file);
    if (!rows) byFile.set(file, (rows = new Map()));
    rows.set(c.ts, rowOf(c));
    n++;
  }
  for (const [file, fresh] of byFile) {
    const merged = new Map<number, CandleRow>();
    for (const row of await readRows(file, CandleRowSchema)) merged.set(row.ts, row);
    for (const [ts, row] of fresh) merged.set(ts, row);
    await replaceFile(file, [...merged.values()].sort((a, b) => a.ts - b.ts));
  }
  return n;
}

/** The candles of one series with `from <= ts < to`, oldest first, read a month file at a time. */
export async function* readCandles(q: CandleQuery, o: StoreOptions = {}): AsyncGenerator<Candle> {
  const series = CandleSeriesSchema.parse({ venue: q.venue, instrument: q.instrument, interval: q.interval });
  const dir = candleDir(series, o);
  for (const name of await filesInRange(dir, q, monthOf, 7)) {
    for (const row of await readRows(join(dir, name), CandleRowSchema)) {
      if (row.ts >= q.from && row.ts < q.to) yield { ...series, ...row };
    }
  }
}

/** Stores recorded ticks, appended in time order per day file (merged by (ts, seq); a tick already there is kept once). */
export async function writeTicks(ticks: Iterable<RecordedTick>, o: StoreOptions = {}): Promise<number> {
  const byFile = new Map<string, RecordedTick[]>();
  let n = 0;
  for (const raw of ticks) {
    const r = RecordedTickSchema.safeParse(raw);
    if (!r.success) throw new Error(`tick ${n}: ${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`);
    const file = join(tickDir(r.data.venue, r.data.symbol, o), `${dayOf(r.data.ts)}.jsonl`);
    const list = byFile.get(file) ?? [];
    list.push(r.data);
    byFile.set(file, list);
    n++;
  }
  for (const [file, fresh] of byFile) {
    const merged = new Map<string, RecordedTick>();
    for (const t of [...(await readRows(file, RecordedTickSchema)), ...fresh]) merged.set(`${t.ts}:${t.seq}`, t);
    await replaceFile(file, [...merged.values()].sort((a, b) => a.ts - b.ts || a.seq - b.seq));
  }
  return n;
}

/** The stored ticks of one instrument with `from <= ts < to`, in time order. */
export async function* readTicks(q: TickQuery, o: StoreOptions = {}): AsyncGenerator<RecordedTick> {
  const dir = tickDir(q.venue, q.instrument, o);
  for (const name of await filesInRange(dir, q, dayOf, 10)) {
    for (const t of await readRows(join(dir, name), RecordedTickSchema)) {
      if (t.ts >= q.from && t.ts < q.to) yield t;
    }
  }
}

/** What the store holds: every candle series, for `orch data ls` and the runner's `--data` check. */
export async function listCandleSeries(o: StoreOptions = {}): Promise<CandleSeries[]> {
  const out: CandleSeries[] = [];
  const base = join(rootOf(o), 'candles');
  for (const venue of await dirNames(base)) {
    if (!VenueSchema.safeParse(venue).success) continue;
    for (const inst of await dirNames(join(base, venue))) {
      for (const interval of await dirNames(join(base, venue, inst))) {
        const s = CandleSeriesSchema.safeParse({ venue, instrument: decodeURIComponent(inst), interval });
        if (s.success) out.push(s.data);
      }
    }
  }
  return out;
}

/**
 * Several time-ordered streams as one, oldest first; equal times in the order the streams were
 * given, so a replay of the same inputs is the same sequence.
 */
export async function* mergeByTime<T extends { ts: number }>(streams: AsyncIterable<T>[]): AsyncGenerator<T> {
  const its = streams.map((s) => s[Symbol.asyncIterator]());
  const heads: (T | undefined)[] = await Promise.all(its.map(async (it) => (await it.next()).value as T | undefined));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h !== undefined && (best < 0 || h.ts < heads[best]!.ts)) best = i;
    }
    if (best < 0) return;
    yield heads[best]!;
    const next = await its[best]!.next();
    heads[best] = next.done ? undefined : next.value;
  }
}

function rowOf(c: Candle): CandleRow {
  return { ts: c.ts, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume, ...(c.oi !== undefined ? { oi: c.oi } : {}) };
}

/** The file names of `dir` (sorted) whose period could hold times in [from, to). */
async function filesInRange(dir: string, q: Range, period: (ms: number) => string, len: number): Promise<string[]> {
  if (!(q.to > q.from)) return [];
  // Open ends (0, Infinity) are clamped to four-digit years, so the names compare as text.
  const first = period(Math.max(q.from, 0));
  const last = period(Math.min(q.to - 1, MAX_DATE_MS));
  return (await dirNames(dir, true))
    .filter((n) => n.endsWith('.jsonl') && n.length === len + 6)
    .filter((n) => n.slice(0, len) >= first && n.slice(0, len) <= last)
    .sort();
}

async function dirNames(dir: string, files = false): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((d) => (files ? d.isFile() : d.isDirectory())).map((d) => d.name).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

async function readRows<S extends z.ZodType>(file: string, schema: S): Promise<z.output<S>[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: z.output<S>[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new StoreDataError(file, i + 1, '(line)', 'not JSON');
    }
    const r = schema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new StoreDataError(file, i + 1, issue.path.join('.') || '(line)', issue.message);
    }
    out.push(r.data);
  }
  return out;
}

let tmpCounter = 0;

async function replaceFile(file: string, rows: unknown[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  // Unique per write: two writes of one file in this process never share a temporary file.
  const tmp = `${file}.${process.pid}.${++tmpCounter}.tmp`;
  await writeFile(tmp, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
  await rename(tmp, file);
}
