import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { metrics } from '../actors/metrics.ts';
import type { TriggerFeed } from '../broker/kill/trigger-feed.ts';
import type { MarketHolidays } from './market-calendar.ts';

export type MarketHoursOptions = {
  clock: Clock;
  log: Logger;
  triggers: Pick<TriggerFeed, 'marketData'>;
  /** NSE open now (supervisor/market-calendar.ts, with the holidays). */
  marketOpen: (now: number) => boolean;
  /** The Kite account's feed is silent outside NSE hours (a live account; the built-in exchange ticks always). */
  kiteHoursOnly: boolean;
  tradesKite: boolean;
  /** A Kalshi venue runs (it trades around the clock). */
  kalshiRuns: boolean;
  /** The holiday calendar read at start (undefined: none found at `holidaysFile`). */
  holidays: MarketHolidays | undefined;
  holidaysFile: string;
};

/**
 * Market hours as the stale-data trigger and `orch_market_open` see them: a live Kite feed is
 * silent outside NSE hours, so stale data counts only while the market trades; checked every
 * 30 s. Kalshi trades around the clock. Returns the stop.
 */
export function followMarketHours(o: MarketHoursOptions): () => void {
  const { clock } = o;
  if (o.kalshiRuns) metrics.marketOpen.set({ venue: 'kalshi' }, 1);
  if (!o.kiteHoursOnly || !o.tradesKite) {
    metrics.marketOpen.set({ venue: 'kite' }, 1);
    return () => undefined;
  }
  if (!o.holidays) o.log.warn({ file: o.holidaysFile }, 'no exchange holiday calendar: a weekday holiday will look like stale data');
  let open = o.marketOpen(clock.now());
  o.triggers.marketData('kite', open);
  metrics.marketOpen.set({ venue: 'kite' }, open ? 1 : 0);
  const hours = clock.setInterval(() => {
    const now = o.marketOpen(clock.now());
    metrics.marketOpen.set({ venue: 'kite' }, now ? 1 : 0);
    if (now !== open) o.triggers.marketData('kite', (open = now));
  }, 30_000);
  return () => clock.clearInterval(hours);
}
