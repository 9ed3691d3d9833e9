/**
 * Kite's clock is India Standard Time (UTC+05:30, no daylight saving): the NSE session, the
 * daily 06:00 token expiry and the exchange's holiday dates are all IST.
 */
export const IST_OFFSET_MS = (5 * 60 + 30) * 60_000;

/** The IST calendar date of an instant, as YYYY-MM-DD. */
export function istDate(nowMs: number): string {
  return new Date(nowMs + IST_OFFSET_MS).toISOString().slice(0, 10);
}

/** NSE cash session 09:15–15:30 IST, Monday to Friday; holidays are the caller's (supervisor/market-calendar.ts). */
export function nseCashMarketOpen(nowMs: number): boolean {
  const ist = new Date(nowMs + IST_OFFSET_MS);
  const day = ist.getUTCDay();
  if (day === 0 || day === 6) return false;
  const minutes = ist.getUTCHours() * 60 + ist.getUTCMinutes();
  return minutes >= 9 * 60 + 15 && minutes < 15 * 60 + 30;
}
