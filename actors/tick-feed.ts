import type { Logger } from 'pino';
import type { StrategySession, SlotTick } from './strategy-session.ts';
import { TickSlotReader } from './tick-slots.ts';
import { readTick } from './tick-check.ts';

export type TickFeedOptions = {
  /** The worker's buffer from the host's market-data hub (supervisor/md-hub.ts): one slot per instrument. */
  buffer: SharedArrayBuffer;
  /** The strategy's instruments, in slot order. */
  symbols: readonly string[];
  session: StrategySession;
  log: Logger;
};

/**
 * A strategy worker's ticks from the host's shared memory (actors/tick-slots.ts), in place of a
 * NATS subscription per instrument. The hub rings the worker's bell after writing a tick; the
 * worker then queues one turn of the strategy per instrument that has a tick it has not taken,
 * and does not wait on the bell again until those turns have taken their ticks: a worker with
 * pending work is not woken again, and each turn reads the newest tick there is at that moment
 * (conflation at the source). A strategy in a CPU loop never answers its bell, which costs the
 * hub one failed compare-and-swap per tick and nobody else anything.
 */
export class TickFeed {
  private readonly slots: TickSlotReader;
  /** Per slot: the write count of the last tick taken (0: none yet). */
  private readonly taken: Int32Array;
  /** Per slot: a turn is queued and has not taken its tick yet. */
  private readonly queued: Uint8Array;
  private outstanding = 0;
  private stopped = false;
  private waiting = false;

  constructor(private readonly o: TickFeedOptions) {
    this.slots = new TickSlotReader(o.buffer, o.symbols.length);
    this.taken = new Int32Array(o.symbols.length);
    this.queued = new Uint8Array(o.symbols.length);
  }

  /** Takes what the slots hold already (the hub copies each instrument's last tick in), then follows the bell. */
  start(): void {
    this.look();
  }

  stop(): void {
    this.stopped = true;
    this.slots.interrupt();
  }

  /** Clears the bell, then queues a turn for every slot with a tick not taken; waits on the bell if none. */
  private look(): void {
    if (this.stopped) return;
    this.slots.clearBell();
    const { symbols, session } = this.o;
    for (let i = 0; i < symbols.length; i++) {
      if (this.queued[i] || this.slots.written(i) === this.taken[i]) continue;
      this.queued[i] = 1;
      this.outstanding++;
      session.tickFromSlot(symbols[i]!, () => this.take(i));
    }
    if (this.outstanding === 0) this.wait();
  }

  private wait(): void {
    if (this.waiting || this.stopped) return;
    this.waiting = true;
    void this.slots.waitForBell().then(() => {
      this.waiting = false;
      this.look();
    });
  }

  /** At the strategy's turn: the newest tick of slot `i`, with how many it replaced since the last one taken. */
  private take(i: number): SlotTick | undefined {
    this.queued[i] = 0;
    this.outstanding--;
    const r = this.slots.read(i, this.taken[i]!);
    let skipped = 0;
    if (typeof r === 'object') {
      skipped = Math.max(0, (r.written - this.taken[i]! - 1) | 0);
      this.taken[i] = r.written;
    }
    if (this.outstanding === 0) {
      // A writer stopped mid-write: look again on the next turn of the event loop, not at once.
      if (r === 'busy') setImmediate(() => this.look());
      else this.look();
    }
    if (typeof r !== 'object') return undefined;
    const t = readTick(r.bytes);
    if (!t.ok) {
      // The hub writes only ticks it has checked: this is this worker's own memory overwritten.
      this.o.log.error({ symbol: this.o.symbols[i], error: t.error }, 'unreadable tick in this worker\'s market-data slot; skipped');
      return undefined;
    }
    return { tick: t.value, skipped };
  }
}
