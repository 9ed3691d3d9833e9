/** The local candle/tick store: time order, ranges, idempotent rewrites, refusals naming file and line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { candleDir, listCandleSeries, mergeByTime, readCandles, readTicks, writeCandles, writeTicks, StoreDataError, type Candle } from './store.ts';

const MIN = 60_000;
const series = { venue: 'kite', instrument: 'NSE:INFY', interval: 'minute' } as const;
const at = (iso: string) => Date.parse(iso);
function candle(ts: number, close: number): Candle {
  return { ...series, ts, open: close - 5, high: close + 10, low: close - 10, close, volume: 100 };
}
async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
async function withRoot(f: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'orch-store-'));
  try {
    await f(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('candles written out of order across months read back oldest first, within [from, to)', () => withRoot(async (root) => {
  const t0 = at('2026-10-30T03:45:00Z');
  const t1 = at('2026-11-02T03:45:00Z');
  await writeCandles([candle(t1 + MIN, 150_010), candle(t0, 150_000), candle(t1, 150_005), candle(t0 + MIN, 150_020)], { root });
  const got = await all(readCandles({ ...series, from: 0, to: at('2030-01-01T00:00:00Z') }, { root }));
  assert.deepEqual(got.map((c) => c.ts), [t0, t0 + MIN, t1, t1 + MIN]);
  assert.deepEqual(got[0], candle(t0, 150_000), 'the series comes back with each candle');
  assert.deepEqual((await readdir(candleDir(series, { root }))).sort(), ['2026-10.jsonl', '2026-11.jsonl']);
  assert.ok(candleDir(series, { root }).includes('NSE%3AINFY'), 'the instrument is one encoded path segment');
  const mid = await all(readCandles({ ...series, from: t0 + MIN, to: t1 + MIN }, { root }));
  assert.deepEqual(mid.map((c) => c.ts), [t0 + MIN, t1], 'from inclusive, to exclusive');
  assert.deepEqual(await all(readCandles({ ...series, interval: 'day', from: 0, to: Infinity }, { root })), [], 'another interval is another series');
  assert.deepEqual(await listCandleSeries({ root }), [series]);
}));

test('a candle stored again at the same time replaces the old one: a re-download never doubles', () => withRoot(async (root) => {
  const t = at('2026-11-20T03:45:00Z');
  await writeCandles([candle(t, 100_000), candle(t + MIN, 100_100)], { root });
  await writeCandles([candle(t, 100_050)], { root });
  const got = await all(readCandles({ ...series, from: 0, to: Infinity }, { root }));
  assert.deepEqual(got.map((c) => [c.ts, c.close]), [[t, 100_050], [t + MIN, 100_100]]);
}));

test('one bad candle in a batch stores nothing, and the error names the field', () => withRoot(async (root) => {
  const t = at('2026-11-20T03:45:00Z');
  await assert.rejects(writeCandles([candle(t, 100_000), { ...candle(t + MIN, 100_000), close: 1000.5 }], { root }), /close/);
  await assert.rejects(writeCandles([{ ...candle(t, 100_000), high: 99_000 }], { root }), /high/);
  await assert.rejects(writeCandles([{ ...candle(t, 100_000), instrument: '../etc' }], { root }), /instrument/);
  assert.deepEqual(await all(readCandles({ ...series, from: 0, to: Infinity }, { root })), []);
}));

test('a line of a store file that is not a candle is refused with its file, line and field', () => withRoot(async (root) => {
  const t = at('2026-11-20T03:45:00Z');
  await writeCandles([candle(t, 100_000)], { root });
  const file = join(candleDir(series, { root }), '2026-11.jsonl');
  await writeFile(file, (await readFile(file, 'utf8')) + JSON.stringify({ ts: t + MIN, open: 1, high: 2, low: 1, close: 2, volume: -1 }) + '\n');
  await assert.rejects(all(readCandles({ ...series, from: 0, to: Infinity }, { root })), (e: unknown) => {
    assert.ok(e instanceof StoreDataError);
    assert.equal(e.line, 2);
    assert.equal(e.field, 'volume');
    assert.match(e.message, /2026-11\.jsonl:2: volume/);
    return true;
  });
}));

test('recorded ticks are stored per day in time order and read back by range', () => withRoot(async (root) => {
  const t = at('2026-11-20T03:45:00Z');
  const tick = (seq: number, ts: number, last: number) => ({ type: 'tick' as const, venue: 'kite' as const, symbol: 'NSE:INFY', seq, ts, recvTs: ts + 3, last });
  await writeTicks([tick(2, t + 500, 150_005), tick(1, t, 150_000), tick(3, t + 86_400_000, 150_010)], { root });
  await writeTicks([tick(2, t + 500, 150_005)], { root }); // the same tick again: kept once
  const got = await all(readTicks({ venue: 'kite', instrument: 'NSE:INFY', from: 0, to: Infinity }, { root }));
  assert.deepEqual(got.map((x) => x.seq), [1, 2, 3]);
  const day = await all(readTicks({ venue: 'kite', instrument: 'NSE:INFY', from: t, to: t + 1000 }, { root }));
  assert.deepEqual(day.map((x) => x.seq), [1, 2]);
}));

test('mergeByTime interleaves series oldest first; equal times keep the order of the streams', async () => {
  async function* of(tag: string, ts: number[]) {
    for (const t of ts) yield { tag, ts: t };
  }
  const got = await all(mergeByTime([of('a', [1, 3, 3, 7]), of('b', [2, 3, 8]), of('c', [])]));
  assert.deepEqual(got.map((x) => `${x.tag}${x.ts}`), ['a1', 'b2', 'a3', 'a3', 'b3', 'a7', 'b8']);
});
