/**
 * `--from` / `--to` as `orch data kite` and `orch backtest` both read them: one grammar, one
 * zone rule. A time that names its offset (`Z`, `+05:30`, `+0530`) is that instant; one that
 * does not is wall time in the command's zone: `--tz` when given, else the venue's own clock
 * (Kite: IST, NSE's clock; Kalshi: UTC, the clock of its API). So the same text is the same
 * instant in both commands.
 */
import type { Venue } from '../actors/messages.ts';

const DAY_MS = 86_400_000;

/** The zone a venue's dates are read in when neither the text nor `--tz` names one. */
export const VENUE_ZONE: Record<Venue, string> = { kite: 'Asia/Kolkata', kalshi: 'UTC' };

/** What a bare date means as the end of a range: its last second (both commands' `--to` is inclusive, as Kite's own `to`). */
export type DayEnd = 'last-second';

export class WhenError extends Error {
  override readonly name = 'WhenError';
}

const GRAMMAR = 'yyyy-mm-dd, or yyyy-mm-dd hh:mm[:ss] (a T may stand for the space), optionally followed by Z or an offset such as +05:30';

/**
 * A zone for `--tz`: `UTC`, `IST` (Asia/Kolkata), an offset (`+05:30`, `-0400`) or an IANA name
 * (`America/New_York`). Returns the zone as parseWhen takes it, or throws naming the option.
 */
export function parseZone(text: string): string {
  const t = text.trim();
  if (/^(utc|z)$/i.test(t)) return 'UTC';
  if (/^ist$/i.test(t)) return 'Asia/Kolkata';
  if (offsetMinutes(t) !== undefined) return t;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: t });
    return t;
  } catch {
    throw new WhenError(`--tz must be UTC, IST, an offset (+05:30) or an IANA zone (Asia/Kolkata), got ${JSON.stringify(text)}`);
  }
}

/**
 * `text` as epoch ms. `zone`: where wall time without an offset is read (parseZone's form).
 * `end`: for a bare date that ends a range, what instant of that day it means; without it, a
 * bare date is its midnight.
 */
export function parseWhen(text: string, o: { option: string; zone: string | undefined; end?: DayEnd }): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(text.trim());
  const bad = () => new WhenError(`--${o.option} must be ${GRAMMAR}; got ${JSON.stringify(text)}`);
  if (!m) throw bad();
  const [, y, mo, d, hh, mm, ss, offset] = m;
  const dateOnly = hh === undefined;
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(hh ?? 0), Number(mm ?? 0), Number(ss ?? 0));
  // Date.UTC rolls 2026-02-30 over to March: no such day.
  const check = new Date(wall);
  if (check.getUTCFullYear() !== Number(y) || check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(hh ?? 0) > 23 || Number(mm ?? 0) > 59 || Number(ss ?? 0) > 59) throw bad();
  const local = dateOnly && o.end === 'last-second' ? wall + DAY_MS - 1000 : wall;
  if (offset !== undefined) return local - (offset.toUpperCase() === 'Z' ? 0 : offsetMinutes(offset)!) * 60_000;
  if (o.zone === undefined) throw new WhenError(`--${o.option} ${JSON.stringify(text)} names no offset, and the strategies trade on venues with different clocks (${Object.entries(VENUE_ZONE).map(([v, z]) => `${v}: ${z}`).join(', ')}): give --tz or an offset`);
  return wallToInstant(local, o.zone);
}

/** `+05:30` / `-0400` → minutes east of UTC; undefined when it is not an offset. */
function offsetMinutes(t: string): number | undefined {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(t);
  if (!m || Number(m[2]) > 23 || Number(m[3]) > 59) return undefined;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** Wall time `local` (as if UTC) in `zone` → the instant. */
function wallToInstant(local: number, zone: string): number {
  const fixed = offsetMinutes(zone);
  if (fixed !== undefined) return local - fixed * 60_000;
  if (zone === 'UTC') return local;
  // The zone's offset at a guess, then at the corrected guess: right across a DST change.
  const first = local - zoneOffsetMs(zone, local);
  return local - zoneOffsetMs(zone, first);
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** How far `zone`'s wall clock is ahead of UTC at instant `ms`. */
function zoneOffsetMs(zone: string, ms: number): number {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formats.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The zone a command reads its times in: `--tz`, else the venues' common one; undefined when venues with different clocks leave it open. */
export function commandZone(tz: string | undefined, venues: readonly Venue[]): string | undefined {
  if (tz !== undefined) return parseZone(tz);
  const zones = [...new Set(venues.map((v) => VENUE_ZONE[v]))];
  return zones.length === 1 ? zones[0] : undefined;
}
