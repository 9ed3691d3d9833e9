/**
 * Regenerates the sample candles shipped in backtest/samples/ (a store root, docs/backtest.md):
 * `node --import tsx backtest/samples/generate.ts`. They come from the built-in Kite exchange
 * through the same download as `orch data kite`, so they are reproducible (its historical
 * candles are a fixed function of instrument and minute) and hold no secret: paper data only.
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
import type { Interval } from '../store.ts';

/** The registry's Kite instruments (config/strategies.yaml), a trading week of minutes and a year of days. */
export const SAMPLES: { instrument: string; interval: Interval; from: string; to: string }[] = [
  ...['NSE:INFY', 'NSE:TCS', 'NSE:RELIANCE'].map((instrument) => ({ instrument, interval: 'minute' as const, from: '2026-11-16', to: '2026-11-20' })),
  ...['NSE:INFY', 'NSE:TCS', 'NSE:RELIANCE'].map((instrument) => ({ instrument, interval: 'day' as const, from: '2025-11-21', to: '2026-11-20' })),
];

export async function generateSamples(root: string, only: typeof SAMPLES = SAMPLES): Promise<number> {
  const log = createLogger({ name: 'samples', level: 'warn' });
  const sim = await startKiteSim({ port: 0, seed: 42, logger: log });
  const limiter = new SharedLimiter({ clock: systemClock, limits: kiteLimits(), logger: log });
  try {
    const token = sim.issueAccessToken();
    const rest = new KiteRestClient({ root: sim.restUrl, apiKey: sim.credentials.apiKey, getAccessToken: () => token, limiter, clock: systemClock });
    let n = 0;
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
