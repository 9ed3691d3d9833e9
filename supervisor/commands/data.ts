import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { systemClock } from '../../actors/clock.ts';
import { createLogger } from '../../actors/logger.ts';
import { VenueSchema } from '../../actors/messages.ts';
import { KiteRestClient } from '../../broker/kite/rest-client.ts';
import { KiteRetry } from '../../broker/kite/retry.ts';
import { SharedLimiter } from '../../broker/limiter/shared-limiter.ts';
import { kiteLimits } from '../../broker/limiter/limits.ts';
import { startKiteSim } from '../../exchanges/kite/index.ts';
import { downloadKiteCandles, formatIst } from '../../backtest/kite-history.ts';
import { commandZone, parseWhen, WhenError } from '../../backtest/when.ts';
import { importCandleCsv, CsvImportError } from '../../backtest/csv-import.ts';
import { defaultStoreRoot, InstrumentSchema, IntervalSchema, listCandleSeries, readCandles, INTERVALS } from '../../backtest/store.ts';
import { kiteLimitSettings } from '../venues/kite.ts';
import { JetStreamApiError } from '@nats-io/jetstream';
import { STREAM_MARKET_DATA } from '../../actors/subjects.ts';
import { exportRecordedTicks } from '../../backtest/recorded-ticks.ts';
import { connectOperator } from './nats-cli.ts';
import { SupervisorError } from '../errors.ts';

/**
 * `orch data kite|import|ls`: fills and lists the local candle store (backtest/store.ts) that
 * `orch backtest` reads (docs/backtest.md, "Data").
 */
export type DataIo = { out: (s: string) => void; err: (s: string) => void };
const stdio: DataIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export const DATA_HELP = `orch data <kite|import|ticks|ls> [options]: the local candle store that orch backtest reads
(<state-dir>/data; docs/backtest.md).

orch data kite --instrument NSE:INFY --from 2026-11-02 --to 2026-11-20 [--interval minute|day|...]
  Downloads candles from Kite's historical endpoint (3 requests/s, long ranges split under
  Kite's per-call caps) with KITE_API_KEY and the session of orch login kite (or
  KITE_ACCESS_TOKEN); KITE_API_ROOT overrides the API root. Without KITE_API_KEY the built-in
  exchange serves the candles (paper data, --seed N). --from/--to are dates or times,
  yyyy-mm-dd[ hh:mm[:ss]][Z|+hh:mm], both inclusive; without an offset they are IST (Kite's
  clock) or --tz ZONE (UTC, IST, +05:30, an IANA name), read as orch backtest reads them. --oi adds open interest (F&O).

orch data import --csv FILE --venue kite|kalshi --instrument SYMBOL --interval minute|day|...
  Imports candles from a CSV (header: time,open,high,low,close,volume[,oi]; prices in rupees or
  dollars; --units minor for paise / hundredths of a cent; --tz +05:30 for times without an
  offset). Every bad row is listed as file:line: field; a file with any bad row stores nothing.

orch data ticks [--venue kite --instrument NSE:INFY] [--nats URL]
  Copies the market-data recording (stream ORCH_MD, registry recording:) of the running
  orchestrator into the store (ticks/…), where it outlives the stream's limits and the fresh
  start of a paper run. Connects as the operator (<state-dir>), like orch events.

orch data ls: every stored series with its first and last candle and count.

  --data-dir DIR     the store (default <state-dir>/data)
  --state-dir DIR    default ./.orch
`;

const KiteTokenFileSchema = z.object({ accessToken: z.string().min(1), expiresAt: z.number(), userId: z.string() });

export async function dataCmd(args: string[], env: NodeJS.ProcessEnv = process.env, io: DataIo = stdio): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest, strict: true,
    options: {
      instrument: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, interval: { type: 'string' }, oi: { type: 'boolean' },
      seed: { type: 'string' }, csv: { type: 'string' }, venue: { type: 'string' }, units: { type: 'string' }, tz: { type: 'string' },
      'data-dir': { type: 'string' }, 'state-dir': { type: 'string' }, json: { type: 'boolean' }, nats: { type: 'string' },
    },
  });
  const stateDir = values['state-dir'] ?? join(process.cwd(), '.orch');
  const root = resolve(values['data-dir'] ?? defaultStoreRoot(stateDir));
  const usage = (msg: string) => {
    io.err(`orch data ${sub ?? ''}: ${msg}\n`);
    return 2;
  };
  const interval = () => {
    const r = IntervalSchema.safeParse(values.interval ?? 'minute');
    if (!r.success) throw new UsageError(`--interval must be one of ${INTERVALS.join(', ')}, got ${JSON.stringify(values.interval)}`);
    return r.data;
  };
  const instrument = () => {
    if (!values.instrument) throw new UsageError('--instrument is required');
    const r = InstrumentSchema.safeParse(values.instrument);
    if (!r.success) throw new UsageError(`--instrument: ${r.error.issues[0]!.message}`);
    return r.data;
  };
  try {
    switch (sub) {
      case 'kite': {
        const inst = instrument();
        const iv = interval();
        if (values.from === undefined) return usage('--from is required');
        if (values.to === undefined) return usage('--to is required');
        let from: number, to: number;
        try {
          // Read as orch backtest reads them (backtest/when.ts): IST, Kite's clock, unless --tz or the text names an offset.
          const zone = commandZone(values.tz, ['kite']);
          from = parseWhen(values.from, { option: 'from', zone });
          to = parseWhen(values.to, { option: 'to', zone, end: 'last-second' });
        } catch (e) {
          if (e instanceof WhenError) return usage(e.message);
          throw e;
        }
        if (to < from) return usage('--to is before --from');
        return await downloadKite({ instrument: inst, interval: iv, from, to, oi: values.oi === true, seed: values.seed, root, stateDir, env, io });
      }
      case 'import': {
        if (!values.csv) return usage('--csv FILE is required');
        const venue = VenueSchema.safeParse(values.venue);
        if (!venue.success) return usage(`--venue must be kite or kalshi, got ${JSON.stringify(values.venue)}`);
        if (values.interval === undefined) return usage('--interval is required');
        const units = values.units ?? 'major';
        if (units !== 'major' && units !== 'minor') return usage(`--units must be major or minor, got ${JSON.stringify(units)}`);
        try {
          const r = await importCandleCsv(values.csv, { venue: venue.data, instrument: instrument(), interval: interval(), units, ...(values.tz ? { tz: values.tz } : {}) }, { root });
          io.out(`imported ${r.candles} candles into ${root}${r.ignoredColumns.length ? ` (ignored columns: ${r.ignoredColumns.join(', ')})` : ''}\n`);
          return 0;
        } catch (e) {
          if (e instanceof CsvImportError) {
            io.err(`orch data import: ${e.message}\n`);
            return 2;
          }
          throw e;
        }
      }
      case 'ticks': {
        const venue = values.venue === undefined ? undefined : VenueSchema.safeParse(values.venue);
        if (venue && !venue.success) return usage(`--venue must be kite or kalshi, got ${JSON.stringify(values.venue)}`);
        if ((venue === undefined) !== (values.instrument === undefined)) return usage('--venue and --instrument go together');
        const nc = await connectOperator({ nats: values.nats, 'state-dir': values['state-dir'] }, env);
        try {
          const n = await exportRecordedTicks(nc, venue?.data ? { venue: venue.data, instrument: instrument() } : {}, { root });
          io.out(`stored ${n} recorded ticks in ${root}\n`);
          return 0;
        } catch (e) {
          if (e instanceof JetStreamApiError && e.code === 10059) return usage(`no recording on this server (stream ${STREAM_MARKET_DATA}): set recording: { marketData: true } in the registry`);
          throw e;
        } finally {
          await nc.close();
        }
      }
      case 'ls': {
        const rows = [];
        for (const s of await listCandleSeries({ root })) {
          let first: number | undefined;
          let last: number | undefined;
          let count = 0;
          for await (const c of readCandles({ ...s, from: 0, to: Infinity }, { root })) {
            first ??= c.ts;
            last = c.ts;
            count++;
          }
          rows.push({ ...s, count, first: first === undefined ? null : new Date(first).toISOString(), last: last === undefined ? null : new Date(last).toISOString() });
        }
        if (values.json) io.out(`${JSON.stringify({ root, series: rows })}\n`);
        else if (rows.length === 0) io.out(`no candles in ${root}\n`);
        else for (const r of rows) io.out(`${r.venue} ${r.instrument} ${r.interval}: ${r.count} candles, ${r.first} .. ${r.last}\n`);
        return 0;
      }
      default:
        return usage(`expected kite, import, ticks or ls\n\n${DATA_HELP}`);
    }
  } catch (e) {
    if (e instanceof UsageError) return usage(e.message);
    throw e;
  }
}

export class UsageError extends SupervisorError {
  constructor(message: string) {
    super('usage', message);
  }
}

async function downloadKite(o: {
  instrument: string; interval: z.infer<typeof IntervalSchema>; from: number; to: number; oi: boolean; seed: string | undefined;
  root: string; stateDir: string; env: NodeJS.ProcessEnv; io: DataIo;
}): Promise<number> {
  const log = createLogger({ name: 'orch-data', level: 'warn' });
  // The same limiter and figures as the broker's; the historical category is used by nothing else.
  const { guardMs, ...figures } = kiteLimitSettings(o.env);
  const limiter = new SharedLimiter({ clock: systemClock, limits: kiteLimits({ ...figures, guardMs }), logger: log });
  let close = async () => undefined as void;
  let account: { root: string; apiKey: string; token: string };
  if (o.env.KITE_API_KEY) {
    const token = o.env.KITE_ACCESS_TOKEN || (await tokenFromFile(join(o.stateDir, 'kite-token.json')));
    account = { root: o.env.KITE_API_ROOT ?? 'https://api.kite.trade', apiKey: o.env.KITE_API_KEY, token };
  } else {
    const seed = o.seed === undefined ? 42 : Number(o.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got ${JSON.stringify(o.seed)}`);
    const sim = await startKiteSim({ port: 0, seed, logger: log });
    close = () => sim.close();
    account = { root: sim.restUrl, apiKey: sim.credentials.apiKey, token: sim.issueAccessToken() };
    o.io.err('orch data kite: no KITE_API_KEY: candles from the built-in exchange (paper data)\n');
  }
  try {
    const rest = new KiteRestClient({ root: account.root, apiKey: account.apiKey, getAccessToken: () => account.token, limiter, clock: systemClock, logger: log });
    // Reads are retried as the broker retries them; a dead session cannot be renewed from here.
    const retry = new KiteRetry({ clock: systemClock, logger: log, reauthenticate: async () => { throw new Error('the Kite session is no longer valid: run orch login kite'); } });
    const r = await downloadKiteCandles({
      rest, retry, instrument: o.instrument, interval: o.interval, from: o.from, to: o.to, oi: o.oi,
      onSpan: (s) => o.io.err(`  ${formatIst(s.from)} .. ${formatIst(s.to)} IST: ${s.candles} candles (${s.span}/${s.spans})\n`),
    }, { root: o.root });
    o.io.out(`stored ${r.candles} ${o.interval} candles of ${o.instrument} (token ${r.instrumentToken}) in ${o.root}\n`);
    return 0;
  } finally {
    await close();
    limiter.close();
  }
}

/** The session `orch login kite` stored (0600); the error says what to do, never the token. */
async function tokenFromFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`KITE_API_KEY is set but there is no Kite session: run orch login kite (writes ${file}) or set KITE_ACCESS_TOKEN`);
  }
  const r = KiteTokenFileSchema.safeParse(JSON.parse(text));
  if (!r.success) throw new UsageError(`${file}: not a Kite session file (run orch login kite again)`);
  if (r.data.expiresAt <= Date.now()) throw new UsageError(`${file}: the Kite session expired at ${new Date(r.data.expiresAt).toISOString()}; run orch login kite`);
  return r.data.accessToken;
}
