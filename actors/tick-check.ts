import { TickSchema, VENUES, MAX_SYMBOL, describeZodError, type Tick } from './messages.ts';
import type { ParseResult } from './bus.ts';

/**
 * A tick as a strategy worker reads it off NATS: JSON, then a hand-written check of exactly
 * what `TickSchema` (actors/messages.ts, the schema of record) allows. A strategy worker reads
 * every tick it is sent, and a full zod parse was about a third of that work
 * (docs/latency.md, "Capacity"). Anything the check does not pass goes to zod, which decides
 * and names the field: the check can only send a payload to zod, never let through one zod
 * would refuse (actors/tick-check.test.ts compares both on valid and broken ticks).
 */

const decoder = new TextDecoder();
const venues: ReadonlySet<unknown> = new Set(VENUES);
/** Every key TickSchema has; it is strict, so no other. */
export const TICK_KEYS: ReadonlySet<string> = new Set(['type', 'venue', 'symbol', 'seq', 'ts', 'recvTs', 'last', 'bid', 'ask', 'volume']);

const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const optionalCount = (v: unknown) => v === undefined || count(v);

/** True when `v` is a tick TickSchema accepts as is (its output would be an equal object). */
export function isPlainTick(v: unknown): v is Tick {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  for (const k in o) if (!TICK_KEYS.has(k)) return false;
  // A key JSON.parse made an own `__proto__` is not listed by for-in on every engine: zod decides.
  if (Object.hasOwn(o, '__proto__')) return false;
  const s = o.symbol;
  return o.type === 'tick' && venues.has(o.venue) && typeof s === 'string' && s.length >= 1 && s.length <= MAX_SYMBOL
    && count(o.seq) && (o.seq as number) >= 1 && count(o.ts) && count(o.recvTs) && count(o.last)
    && optionalCount(o.bid) && optionalCount(o.ask) && optionalCount(o.volume);
}

/** A tick from its bytes on the wire; a payload that is not one gets zod's error naming the field. */
export function readTick(data: Uint8Array): ParseResult<Tick> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (e) {
    return { ok: false, error: `not JSON: ${(e as Error).message}` };
  }
  if (isPlainTick(json)) return { ok: true, value: json };
  const r = TickSchema.safeParse(json);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: describeZodError(r.error) };
}

const SEQ_KEY = [...'"seq":'].map((c) => c.charCodeAt(0));

/**
 * The `seq` a tick's bytes name, found without parsing them: the broker writes compact JSON
 * (actors/bus.ts encodeJson), and in JSON `"seq":` can only be a key (a quote inside a string
 * is escaped). Undefined when it is not there as digits. Only a hint: the tick's checked `seq`
 * must equal it (`readTick`'s caller compares them).
 */
export function peekSeq(data: Uint8Array): number | undefined {
  const last = data.length - SEQ_KEY.length;
  outer: for (let i = 0; i <= last; i++) {
    for (let k = 0; k < SEQ_KEY.length; k++) if (data[i + k] !== SEQ_KEY[k]) continue outer;
    let n = 0;
    let j = i + SEQ_KEY.length;
    const start = j;
    for (; j < data.length && j - start < 16; j++) {
      const d = data[j]! - 48;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    return j > start && Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}
