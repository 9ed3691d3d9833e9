/**
 * Kite speaks India Standard Time on the wire (no zone suffix) and expires sessions at 06:00 IST,
 * so every timestamp the sim emits is derived from the Clock here, never from the host's zone.
 */
export const IST_OFFSET_MS = 5.5 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

/** "YYYY-MM-DD HH:MM:SS" in IST, the format of order_timestamp, fill_timestamp, login_time. */
export function istDateTime(ms: number): string {
  // One order's change stamps the same instant several times (order, exchange, update, fill):
  // the last answer is kept, so a backtest's tens of thousands of orders format each second once.
  if (ms === lastMs) return lastText;
  lastText = new Date(ms + IST_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
  lastMs = ms;
  return lastText;
}
let lastMs = Number.NaN;
let lastText = '';

/** "HH:MM:SS" in IST: trades carry a time-only order_timestamp. */
export function istTime(ms: number): string {
  return istDateTime(ms).slice(11);
}

/** "YYMMDD" in IST, used as the prefix of order ids as Kite does. */
export function istDatePrefix(ms: number): string {
  return istDateTime(ms).slice(2, 10).replace(/-/g, '');
}

/** The first 06:00 IST strictly after `ms`: when an access token issued at `ms` stops working. */
export function nextSixAmIst(ms: number): number {
  const local = ms + IST_OFFSET_MS;
  let six = Math.floor(local / DAY_MS) * DAY_MS + 6 * 3600 * 1000;
  if (six <= local) six += DAY_MS;
  return six - IST_OFFSET_MS;
}
