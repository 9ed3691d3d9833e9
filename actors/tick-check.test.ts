import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TickSchema } from './messages.ts';
import { isPlainTick, readTick, peekSeq, TICK_KEYS } from './tick-check.ts';

const enc = new TextEncoder();
const good = { type: 'tick', venue: 'kite', symbol: 'NSE:INFY', seq: 7, ts: 1_796_313_177_363, recvTs: 1_796_313_177_364, last: 150_000, bid: 149_995, ask: 150_005, volume: 1_000 };

/** Valid ticks and every way we could think of to break one, field by field. */
function corpus(): unknown[] {
  const bad: unknown[] = [-1, 1.5, 2 ** 53, '5', null, true, [], {}, undefined, -0];
  const out: unknown[] = [good, { ...good, bid: undefined, ask: undefined, volume: undefined }, null, [], 'tick', 5, [good]];
  const { bid: _b, ask: _a, volume: _v, ...required } = good;
  out.push(required);
  for (const key of Object.keys(good)) {
    const { [key]: _drop, ...without } = good as Record<string, unknown>;
    out.push(without);
    for (const v of bad) out.push({ ...good, [key]: v });
  }
  for (const symbol of ['', 'x', 'x'.repeat(128), 'x'.repeat(129), 'NSE:M&M', 'a"seq":9']) out.push({ ...good, symbol });
  for (const venue of ['kite', 'kalshi', 'KITE', 'nse']) out.push({ ...good, venue });
  for (const type of ['tick', 'Tick', 'order_update']) out.push({ ...good, type });
  out.push({ ...good, seq: 0 }, { ...good, seq: 2 ** 53 - 1 }, { ...good, extra: 1 });
  out.push(JSON.parse(`{"type":"tick","venue":"kite","symbol":"S","seq":1,"ts":0,"recvTs":0,"last":1,"__proto__":{"x":1}}`));
  out.push(Object.create({ inherited: 1 }, { ...Object.fromEntries(Object.entries(good).map(([k, v]) => [k, { value: v, enumerable: true }])) }));
  return out;
}

test('the quick tick check passes only what TickSchema accepts, so zod stays the schema of record', () => {
  let passed = 0;
  for (const candidate of corpus()) {
    if (!isPlainTick(candidate)) continue;
    passed++;
    const z = TickSchema.safeParse(candidate);
    assert.ok(z.success, `passed by the quick check, refused by zod: ${JSON.stringify(candidate)}`);
    assert.deepEqual({ ...(candidate as object) }, z.data, 'and taken as zod would output it');
  }
  assert.ok(passed >= 8, 'the valid ones do take the quick path');
  assert.deepEqual([...TICK_KEYS].sort(), Object.keys(TickSchema.shape).sort(), 'the check knows every field of the schema, and no other');
});

test('a malformed tick is refused with an error naming the field, whichever path reads it', () => {
  const read = (v: unknown) => readTick(enc.encode(typeof v === 'string' ? v : JSON.stringify(v)));
  assert.deepEqual(read(good), { ok: true, value: good });
  const errorOf = (v: unknown) => {
    const r = read(v);
    assert.equal(r.ok, false, JSON.stringify(v));
    return r.ok ? '' : r.error;
  };
  assert.match(errorOf('{"type":"tick",'), /not JSON/);
  assert.match(errorOf({ ...good, last: -5 }), /last/);
  assert.match(errorOf({ ...good, seq: 1.5 }), /seq/);
  assert.match(errorOf({ ...good, venue: 'nse' }), /venue/);
  assert.match(errorOf({ ...good, symbol: 'x'.repeat(129) }), /symbol/);
  assert.match(errorOf({ ...good, price: 1 }), /price/);
  // Every one the quick path leaves to zod is decided by zod, with zod's answer.
  for (const candidate of corpus()) {
    if (candidate === undefined) continue;
    const r = read(candidate);
    assert.equal(r.ok, TickSchema.safeParse(JSON.parse(JSON.stringify(candidate))).success, JSON.stringify(candidate));
  }
});

test('the seq of a tick is found in its bytes without parsing them, and nowhere but in its key', () => {
  assert.equal(peekSeq(enc.encode(JSON.stringify(good))), 7);
  assert.equal(peekSeq(enc.encode(JSON.stringify({ ...good, seq: 2 ** 53 - 1 }))), 2 ** 53 - 1);
  // A symbol that spells the key: inside a JSON string its quotes are escaped.
  assert.equal(peekSeq(enc.encode(JSON.stringify({ ...good, symbol: '"seq":99', seq: 3 }))), 3);
  assert.equal(peekSeq(enc.encode(JSON.stringify({ ...good, seq: 'x' }))), undefined);
  assert.equal(peekSeq(enc.encode(JSON.stringify({ ...good, seq: -4 }))), undefined);
  assert.equal(peekSeq(enc.encode('{"seq" : 4}')), undefined, 'not compact: left to the parse');
  assert.equal(peekSeq(enc.encode('not json')), undefined);
  assert.equal(peekSeq(enc.encode('{"seq":')), undefined);
});
