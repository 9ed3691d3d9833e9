/**
 * Regenerates the sample candles shipped in backtest/samples/ (a store root, docs/backtest.md):
 * `node --import tsx backtest/samples/generate.ts`. Kite's come from the built-in Kite exchange
 * through the same download as `orch data kite`, so they are reproducible (its historical
 * candles are a fixed function of instrument and minute); Kalshi's from a seeded random walk on
 * the cent grid (the built-in Kalshi exchange keeps no history). Paper data only, no secret.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../actors/clock.ts';
import { createLogger } from '../../actors/logger.ts';
import { KiteRestClient } from '../../broker/kite/rest-client.ts';
import { SharedLimiter } from '../../broker/limiter/shared-limiter.ts';
import { kiteLimits } from '../../broker/limiter/limits.ts';
import { startKiteSim } from '../../exchanges/kite/index.ts';
import { downloadKiteCandles, parseIstInput } from '../kite-history.ts';
import { mulberry32, randInt } from '../../actors/prng.ts';
import { writeCandles, type Candle, type Interval } from '../store.ts';

/** The registry's Kite instruments (config/strategies.yaml), a trading week of minutes and a year of days. */
export const SAMPLES: { instrument: string; interval: Interval; from: string; to: string }[] = [
  ...['NSE:INFY', 'NSE:TCS', 'NSE:RELIANCE'].map((instrument) => ({ instrument, interval: 'minute' as const, from: '2026-11-16', to: '2026-11-20' })),
  ...['NSE:INFY', 'NSE:TCS', 'NSE:RELIANCE'].map((instrument) => ({ instrument, interval: 'day' as const, from: '2025-11-21', to: '2026-11-20' })),
];

/** The registry's Kalshi markets: a day (UTC, Kalshi trades around the clock) of minutes. */
export const KALSHI_SAMPLES: { instrument: string; seed: number; day: string }[] = [
  { instrument: 'KXFED-26DEC-T4.00', seed: 4001, day: '2026-11-20' },
  { instrument: 'KXBTCD-26NOV2317-T99999.99', seed: 9999, day: '2026-11-20' },
];

const CENT = 100; // hundredths of a cent

/**
 * Minute candles of a YES price walking a cent at a time between 1c and 99c: prices in
 * hundredths of a cent, volume in hundredths of a contract (whole contracts), same seed = same candles.
 */
export function kalshiWalk(instrument: string, seed: number, day: string): Candle[] {
  const rng = mulberry32(seed);
  const start = Date.parse(`${day}T00:00:00Z`);
  let price = (30 + randInt(rng, 0, 40)) * CENT;
  const out: Candle[] = [];
  for (let m = 0; m < 1440; m++) {
    const open = price;
    let high = open;
    let low = open;
    for (let step = 0; step < 4; step++) {
      price = Math.min(99 * CENT, Math.max(CENT, price + randInt(rng, -1, 1) * CENT));
      high = Math.max(high, price);
      low = Math.min(low, price);
    }
    out.push({ venue: 'kalshi', instrument, interval: 'minute', ts: start + m * 60_000, open, high, low, close: price, volume: randInt(rng, 0, 40) * 100 });
  }
  return out;
}

export async function generateSamples(root: string, only: typeof SAMPLES = SAMPLES, kalshi: typeof KALSHI_SAMPLES = KALSHI_SAMPLES): Promise<number> {
  let n = 0;
  for (const k of kalshi) n += await writeCandles(kalshiWalk(k.instrument, k.seed, k.day), { root });
  if (only.length === 0) return n;
  const log = createLogger({ name: 'samples', level: 'warn' });
  const sim = await startKiteSim({ port: 0, seed: 42, logger: log });
  const limiter = new SharedLimiter({ clock: systemClock, limits: kiteLimits(), logger: log });
  try {
    const token = sim.issueAccessToken();
    const rest = new KiteRestClient({ root: sim.restUrl, apiKey: sim.credentials.apiKey, getAccessToken: () => token, limiter, clock: systemClock });
    for (const s of only) {
      n += (await downloadKiteCandles({ rest, instrument: s.instrument, interval: s.interval, from: parseIstInput(s.from)!, to: parseIstInput(s.to, { endOfDay: true })! }, { root })).candles;
    }
    return n;
  } finally {
    limiter.close();
    await sim.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = dirname(fileURLToPath(import.meta.url));
  generateSamples(root).then((n) => process.stdout.write(`${n} candles in ${root}\n`), (e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
