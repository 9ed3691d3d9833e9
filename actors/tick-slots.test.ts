import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { TICK_SLOT_CAPACITY, TickSlotReader, TickSlotWriter, tickSlotsBytes } from './tick-slots.ts';
import { TickSchema, MAX_SYMBOL } from './messages.ts';

/** tick-slots.ts as JavaScript (it imports nothing), for a plain worker thread to import. */
function slotsModuleUrl(): string {
  const source = readFileSync(fileURLToPath(new URL('./tick-slots.ts', import.meta.url)), 'utf8');
  const { code } = transformSync(source, { loader: 'ts', format: 'esm' });
  return `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`;
}

/** The bytes of the k-th test tick: its length and every byte follow from k, so a torn copy shows. */
function pattern(k: number): Uint8Array {
  const b = new Uint8Array(8 + (k % 1000)).fill(k & 0xff);
  new DataView(b.buffer).setUint32(0, k);
  return b;
}

test('a reader never sees a torn tick while a writer in another thread overwrites the slot as fast as it can', async () => {
  const buffer = new SharedArrayBuffer(tickSlotsBytes(2));
  // Set by the reader once it has read enough whole ticks: the writer writes until then.
  const enough = new Int32Array(new SharedArrayBuffer(4));
  // The hub's writer, in a thread of its own.
  const src = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.slotsUrl).then(({ TickSlotWriter }) => {
      const w = new TickSlotWriter(workerData.buffer, 2);
      const enough = new Int32Array(workerData.enough);
      const pattern = ${pattern.toString()};
      const end = Date.now() + 60000;
      let k = 0;
      while (Atomics.load(enough, 0) === 0 && Date.now() < end) { w.write(1, pattern(++k)); if (k % 64 === 0) w.ring(); }
      parentPort.postMessage(k);
    });`;
  const w = new Worker(src, { eval: true, workerData: { buffer, enough: enough.buffer, slotsUrl: slotsModuleUrl() } });
  const reader = new TickSlotReader(buffer, 2);
  let writes = 0;
  const finished = new Promise<void>((resolve, reject) => {
    w.on('error', reject);
    w.on('message', (k: number) => { writes = k; resolve(); });
  });
  let seen = 0;
  let whole = 0;
  let lastK = 0;
  const torn: string[] = [];
  const deadline = Date.now() + 30_000;
  while (whole < 20_000 && Date.now() < deadline) {
    const r = reader.read(1, seen);
    if (r === 'busy') continue;
    if (r === 'unchanged') { await new Promise((res) => setImmediate(res)); continue; }
    seen = r.written;
    const k = new DataView(r.bytes.buffer).getUint32(0);
    const expected = pattern(k);
    if (r.bytes.length !== expected.length || r.bytes.some((v, i) => i >= 4 && v !== expected[i])) torn.push(`tick ${k}: ${r.bytes.length} bytes`);
    // The count written goes with the bytes: the k-th tick is the k-th write.
    if (r.written !== k) torn.push(`tick ${k} read with write count ${r.written}`);
    if (k < lastK) torn.push(`tick ${k} after ${lastK}`);
    lastK = k;
    whole++;
    if (whole % 256 === 0) await new Promise((res) => setImmediate(res));
  }
  Atomics.store(enough, 0, 1);
  await finished;
  await w.terminate();
  assert.deepEqual(torn.slice(0, 5), [], `${torn.length} torn reads of ${whole}`);
  assert.ok(whole >= 20_000, `only ${whole} reads while the writer wrote`);
  // The other slot was never written.
  assert.equal(reader.read(0, 0), 'unchanged');
  const last = reader.read(1, 0);
  assert.ok(typeof last === 'object' && last.written === writes && new DataView(last.bytes.buffer).getUint32(0) === writes);
});

test('the bell wakes a waiting reader once; the writer does not ring again until the reader has looked', async () => {
  const buffer = new SharedArrayBuffer(tickSlotsBytes(1));
  const writer = new TickSlotWriter(buffer, 1);
  const reader = new TickSlotReader(buffer, 1);
  const woken = reader.waitForBell();
  writer.write(0, pattern(1));
  assert.equal(writer.ring(), true);
  await woken;
  writer.write(0, pattern(2));
  assert.equal(writer.ring(), false, 'rung already: the reader has not looked since');
  reader.clearBell();
  assert.equal(writer.ring(), true);
  // Rung since the last look: a wait ends at once.
  await reader.waitForBell();
  reader.clearBell();
  const waiting = reader.waitForBell();
  reader.interrupt();
  await waiting;
  const r = reader.read(0, 0);
  assert.ok(typeof r === 'object' && r.written === 2 && r.bytes[4] === 2);
  assert.equal(reader.read(0, 2), 'unchanged');
});

test('the largest tick the schema allows fits a slot in its compact form; a larger write is refused', () => {
  const n = Number.MAX_SAFE_INTEGER;
  for (const symbol of ['\u0001'.repeat(MAX_SYMBOL), '\ud800'.repeat(MAX_SYMBOL), '€'.repeat(MAX_SYMBOL)]) {
    const t = TickSchema.parse({ type: 'tick', venue: 'kalshi', symbol, seq: n, ts: n, recvTs: n, last: n, bid: n, ask: n, volume: n });
    const bytes = new TextEncoder().encode(JSON.stringify(t));
    assert.ok(bytes.length <= TICK_SLOT_CAPACITY, `${bytes.length} bytes`);
  }
  const writer = new TickSlotWriter(new SharedArrayBuffer(tickSlotsBytes(1)), 1);
  assert.throws(() => writer.write(0, new Uint8Array(TICK_SLOT_CAPACITY + 1)), /over the slot/);
  assert.throws(() => new TickSlotReader(new SharedArrayBuffer(tickSlotsBytes(1)), 2), /fewer than 2/);
});
