/**
 * `orch backtest --config FILE --data DIR --from WHEN --to WHEN [--speed max|N] [--seed N]`: runs
 * the registry's strategies, unchanged, on stored data (backtest/store.ts) against the built-in
 * exchanges' matching, and writes a JSON summary and an HTML report (docs/backtest.md).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { pino } from 'pino';
import { loadConfig } from '../config.ts';
import { importStrategyModule } from '../../actors/strategy-contract.ts';
import { runBacktest, type BacktestResult } from '../../backtest/runner.ts';
import { CostsSchema, type Costs } from '../../backtest/costs.ts';
import { dataTicks } from '../../backtest/source.ts';
import { defaultStoreRoot, IntervalSchema } from '../../backtest/store.ts';
import { progressBar, type ProgressStream } from '../../backtest/progress.ts';
import { renderReport } from '../../backtest/report-html.ts';
import { describeZodError } from '../../actors/messages.ts';
import { commandZone, parseWhen, parseZone } from '../../backtest/when.ts';

export type BacktestIo = { out(s: string): void; err(s: string): void; progress: ProgressStream };
const stdio: BacktestIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), progress: process.stderr };

export const BACKTEST_HELP = `orch backtest [options]: run the registry's strategies on stored data against the built-in
exchanges' matching (docs/backtest.md). Prints the summary as JSON (with the run's hash) and
writes summary.json and report.html into --out.

  --config FILE      strategy registry (default config/strategies.yaml)
  --data DIR         the data store (default .orch/data; orch data ... fills it)
  --from WHEN        start, inclusive: yyyy-mm-dd[ hh:mm[:ss]][Z|+hh:mm]; without an offset, in
                     --tz or the venue's clock (Kite: IST, Kalshi: UTC), as orch data kite reads it
  --to WHEN          end, inclusive to the second (a bare date: that whole day), as orch data kite
  --tz ZONE          zone of --from/--to without an offset: UTC, IST, +05:30 or an IANA name
                     (needed when the strategies trade on both venues)
  --interval NAME    candle interval when no ticks were recorded (minute, ..., day; default minute)
  --speed max|N      max (default) or N times real time
  --seed N           seed of the simulated book depth and quote sizes (default 1)
  --costs FILE       cost schedule (YAML or JSON; default: docs/backtest.md "Costs")
  --out DIR          where summary.json and report.html go (default .orch/backtest)
  --log-level LEVEL  the strategies' log level, JSON lines on stderr (default warn)
`;

export async function backtest(args: string[], io: BacktestIo = stdio): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args, strict: true,
      options: {
        config: { type: 'string' }, data: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, interval: { type: 'string' },
        speed: { type: 'string' }, seed: { type: 'string' }, tz: { type: 'string' }, costs: { type: 'string' }, out: { type: 'string' }, 'log-level': { type: 'string' },
      },
    }).values;
  } catch (e) {
    io.err(`orch: ${(e as Error).message}\n\n${BACKTEST_HELP}`);
    return 2;
  }
  let from: number, to: number, seed: number, speed: 'max' | number, interval;
  try {
    if (!values.from || !values.to) throw new Error('--from and --to are required');
    if (values.tz !== undefined) parseZone(values.tz);
    seed = values.seed === undefined ? 1 : Number(values.seed);
    if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got "${values.seed}"`);
    speed = values.speed === undefined || values.speed === 'max' ? 'max' : Number(values.speed);
    if (speed !== 'max' && !(Number.isFinite(speed) && speed > 0)) throw new Error(`--speed must be max or a number above 0, got "${values.speed}"`);
    const iv = IntervalSchema.safeParse(values.interval ?? 'minute');
    if (!iv.success) throw new Error(`--interval must be one of ${IntervalSchema.options.join(', ')}, got "${values.interval}"`);
    interval = iv.data;
  } catch (e) {
    io.err(`orch: ${(e as Error).message}\n`);
    return 2;
  }
  const costs = await loadCosts(values.costs);
  const config = await loadConfig(values.config ?? 'config/strategies.yaml', importStrategyModule);
  const enabled = config.strategies.filter((s) => s.enabled);
  if (enabled.length === 0) {
    io.err(`orch: ${config.file} has no enabled strategy to backtest\n`);
    return 2;
  }
  try {
    // Read as `orch data kite` reads them (backtest/when.ts): the venues' clock unless --tz or the text says otherwise.
    const zone = commandZone(values.tz, enabled.map((s) => s.venue));
    from = parseWhen(values.from, { option: 'from', zone });
    // Inclusive to the second, as Kite's own `to` (orch data kite): the same text, the same candles.
    to = parseWhen(values.to, { option: 'to', zone, end: 'last-second' }) + 1000;
    if (!(to > from)) throw new Error(`--to (${values.to}) must be after --from (${values.from})`);
  } catch (e) {
    io.err(`orch: ${(e as Error).message}\n`);
    return 2;
  }
  const strategies = await Promise.all(enabled.map(async (spec) => ({ spec, module: await importStrategyModule(spec.module) })));
  const store = { root: resolve(values.data ?? defaultStoreRoot()) };
  const instruments = [...new Map(enabled.flatMap((s) => s.instruments.map((symbol) => [`${s.venue}:${symbol}`, { venue: s.venue, symbol }]))).values()];
  const bar = progressBar(io.progress);
  const log = pino({ level: values['log-level'] ?? 'warn', base: { actor: 'backtest' } }, pino.destination(2));
  const result = await runBacktest({
    strategies, ticks: dataTicks(instruments, from, to, interval, store), from, to, seed, speed, log, costs,
    ...(config.killTriggers ? { killTriggers: config.killTriggers } : {}),
    ...(bar ? { onProgress: (p) => bar.update(p) } : {}),
  });
  bar?.done();
  if (result.ticks === 0) {
    io.err(`orch: no data for ${instruments.map((i) => `${i.venue}:${i.symbol}`).join(', ')} between ${values.from} and ${values.to} in ${store.root} (interval ${interval}); see docs/backtest.md "Data"\n`);
    return 3;
  }
  const out = resolve(values.out ?? join('.orch', 'backtest'));
  await mkdir(out, { recursive: true });
  const summary = summaryOf(result, config.file, store.root);
  await writeFile(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFile(join(out, 'report.html'), renderReport(result, `orch backtest: ${config.file}`));
  io.out(`${JSON.stringify(summary)}\n`);
  io.err(`backtest: ${result.ticks} ticks, hash ${result.hash}; report ${join(out, 'report.html')}\n`);
  return result.strategies.some((s) => s.crashed) ? 1 : 0;
}

export type BacktestSummary = ReturnType<typeof summaryOf>;

export function summaryOf(r: BacktestResult, config: string, data: string) {
  return {
    hash: r.hash, seed: r.seed, config, data,
    from: new Date(r.from).toISOString(), to: new Date(r.to).toISOString(), ticks: r.ticks,
    ...(r.firstTs !== undefined ? { firstTick: new Date(r.firstTs).toISOString() } : {}),
    ...(r.lastTs !== undefined ? { lastTick: new Date(r.lastTs).toISOString() } : {}),
    strategies: r.strategies,
  };
}

async function loadCosts(file: string | undefined): Promise<Costs | undefined> {
  if (file === undefined) return undefined;
  const text = await readFile(resolve(file), 'utf8');
  const r = CostsSchema.safeParse(parseYaml(text));
  if (!r.success) throw new Error(`${file}: ${describeZodError(r.error)}`);
  return r.data;
}
