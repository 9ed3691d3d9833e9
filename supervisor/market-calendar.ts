import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { istDate, nseCashMarketOpen } from '../broker/kite/market-hours.ts';
import { parseYamlWith } from './config.ts';

/**
 * Exchange holidays, from `market-holidays.yaml` next to the strategy registry. NSE publishes
 * its list once a year by circular; a weekday holiday that is not listed looks like a dead feed
 * (stale data raises the kill switch, the ticker reconnects all day), so keep the file current.
 */
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD').refine((s) => {
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}, 'not a calendar date');

export const MarketHolidaysSchema = z.strictObject({
  /** NSE equity-segment trading holidays (a date in IST). */
  nse: z.array(isoDate).default([]),
});
export type MarketHolidays = { nse: ReadonlySet<string> };

export const NO_HOLIDAYS: MarketHolidays = { nse: new Set() };

/** Parses the file; an error names the file, the line and the field. */
export function parseMarketHolidays(text: string, file: string): MarketHolidays {
  // A file of comments only is an empty list, not an error.
  return { nse: new Set(parseYamlWith(z.preprocess((v) => v ?? {}, MarketHolidaysSchema), text, file).value.nse) };
}

/** Reads the file; a missing file means no holidays (the caller says so in the log). */
export async function loadMarketHolidays(file: string): Promise<MarketHolidays | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return parseMarketHolidays(text, file);
}

/** NSE cash market hours (09:15-15:30 IST, Monday to Friday), closed on the listed holidays. */
export function nseMarketOpen(holidays: MarketHolidays): (nowMs: number) => boolean {
  return (nowMs) => nseCashMarketOpen(nowMs) && !holidays.nse.has(istDate(nowMs));
}
