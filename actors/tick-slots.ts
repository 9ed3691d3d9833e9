/**
 * A strategy worker's market data in shared memory (docs/latency.md, "Capacity"): one buffer per
 * worker, made by the host's market-data hub (supervisor/md-hub.ts), holding a doorbell and one
 * latest-tick slot per instrument of the strategy. The hub's thread is the only writer: it puts
 * each tick's bytes in the slot of every worker that trades the instrument and rings the bell
 * of a worker that is not already rung. The worker only reads. A worker has only its own buffer,
 * so whatever its strategy's code writes into it reaches no other strategy.
 *
 * A slot is a seqlock: the writer makes its version odd, writes the bytes, their length and the
 * count of ticks written so far, and makes the version even again; a reader that saw the same
 * even version before and after copying has a whole tick, never a torn one.
 */

/** The doorbell: 0 while the worker waits (or is about to look), 1 once rung. */
const BELL = 0;
const HEADER_BYTES = 16;
/** Per slot: version, length, ticks written, spare; then the tick's bytes. */
const SLOT_HEADER_INTS = 4;
const VERSION = 0;
const LENGTH = 1;
const WRITTEN = 2;

/**
 * Bytes a slot holds. The largest tick TickSchema allows, written compactly, is under 1,000
 * bytes (a 128-character symbol of escaped control characters, six bytes each, and seven
 * 16-digit numbers: actors/tick-slots.test.ts); the hub writes a tick whose own bytes are longer
 * (padded JSON) in its compact form.
 */
export const TICK_SLOT_CAPACITY = 1024;
const SLOT_BYTES = SLOT_HEADER_INTS * 4 + TICK_SLOT_CAPACITY;

/** How many times a reader tries while the writer is mid-write before leaving it for later. */
const READ_TRIES = 64;

/** The size of a worker's buffer with `slots` instruments. */
export function tickSlotsBytes(slots: number): number {
  return HEADER_BYTES + slots * SLOT_BYTES;
}

function views(buffer: SharedArrayBuffer, slots: number): { ints: Int32Array; bytes: Uint8Array } {
  if (buffer.byteLength < tickSlotsBytes(slots)) throw new Error(`a buffer of ${buffer.byteLength} bytes holds fewer than ${slots} tick slots`);
  return { ints: new Int32Array(buffer), bytes: new Uint8Array(buffer) };
}

const slotInt = (slot: number, field: number) => (HEADER_BYTES + slot * SLOT_BYTES) / 4 + field;
const slotData = (slot: number) => HEADER_BYTES + slot * SLOT_BYTES + SLOT_HEADER_INTS * 4;

/** The hub's side of one worker's buffer. Its counters live here, not in the shared memory a worker could overwrite. */
export class TickSlotWriter {
  private readonly ints: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly version: Int32Array;
  private readonly written: Int32Array;

  constructor(buffer: SharedArrayBuffer, readonly slots: number) {
    ({ ints: this.ints, bytes: this.bytes } = views(buffer, slots));
    this.version = new Int32Array(slots);
    this.written = new Int32Array(slots);
    // A buffer written before (a hub thread that ended and was started again): its counts go
    // on from where they are, so the worker's next read is not taken for one it has seen.
    for (let i = 0; i < slots; i++) {
      const v = Atomics.load(this.ints, slotInt(i, VERSION));
      this.version[i] = (v + (v & 1)) | 0;
      this.written[i] = Atomics.load(this.ints, slotInt(i, WRITTEN));
    }
  }

  /** Puts `tick` (at most TICK_SLOT_CAPACITY bytes) in `slot`, replacing what it held. */
  write(slot: number, tick: Uint8Array): void {
    if (tick.length > TICK_SLOT_CAPACITY) throw new Error(`a tick of ${tick.length} bytes is over the slot's ${TICK_SLOT_CAPACITY}`);
    const v = this.version[slot]!;
    Atomics.store(this.ints, slotInt(slot, VERSION), (v + 1) | 0);
    this.bytes.set(tick, slotData(slot));
    Atomics.store(this.ints, slotInt(slot, LENGTH), tick.length);
    const w = (this.written[slot]! + 1) | 0;
    this.written[slot] = w;
    Atomics.store(this.ints, slotInt(slot, WRITTEN), w);
    this.version[slot] = (v + 2) | 0;
    Atomics.store(this.ints, slotInt(slot, VERSION), this.version[slot]!);
  }

  /**
   * Wakes the worker unless it is rung already (it has not looked since the last ring, so it
   * will see this tick too): one wake per look, not one per tick. True if it was woken.
   */
  ring(): boolean {
    if (Atomics.compareExchange(this.ints, BELL, 0, 1) !== 0) return false;
    Atomics.notify(this.ints, BELL);
    return true;
  }
}

export type SlotRead = { bytes: Uint8Array; written: number };

type WaitAsync = (ta: Int32Array, index: number, value: number) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
/** In Node 20 (V8 11); its type is in TypeScript's ES2024 library, not the ES2023 this repo targets. */
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** The worker's side: reads its slots and waits on its bell. */
export class TickSlotReader {
  private readonly ints: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(buffer: SharedArrayBuffer, readonly slots: number) {
    ({ ints: this.ints, bytes: this.bytes } = views(buffer, slots));
  }

  /** Ticks written to `slot` so far (wraps at 2^31; compare by difference). */
  written(slot: number): number {
    return Atomics.load(this.ints, slotInt(slot, WRITTEN));
  }

  /**
   * The newest tick of `slot` as a copy of its bytes, with the count of ticks written up to it;
   * `unchanged` if that count is still `seen`; `busy` if the writer was mid-write every try (it
   * was stopped by the scheduler between two stores: the caller looks again later).
   */
  read(slot: number, seen: number): SlotRead | 'unchanged' | 'busy' {
    const version = slotInt(slot, VERSION);
    for (let i = 0; i < READ_TRIES; i++) {
      const before = Atomics.load(this.ints, version);
      if (before & 1) continue;
      const written = Atomics.load(this.ints, slotInt(slot, WRITTEN));
      if (written === seen) return 'unchanged';
      const length = Atomics.load(this.ints, slotInt(slot, LENGTH));
      if (length < 0 || length > TICK_SLOT_CAPACITY) continue;
      const start = slotData(slot);
      const bytes = this.bytes.slice(start, start + length);
      if (Atomics.load(this.ints, version) === before) return { bytes, written };
    }
    return 'busy';
  }

  /** Before looking at the slots: a tick written after this rings the bell again. */
  clearBell(): void {
    Atomics.store(this.ints, BELL, 0);
  }

  /** Resolves when the bell rings (at once if it has since `clearBell`), or `interrupt` is called. */
  waitForBell(): Promise<unknown> {
    const r = waitAsync(this.ints, BELL, 0);
    return r.async ? r.value : Promise.resolve(r.value);
  }

  /** Ends a pending `waitForBell` (the worker is stopping). */
  interrupt(): void {
    Atomics.notify(this.ints, BELL);
  }
}
