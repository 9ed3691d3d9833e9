import type { KillLevel, KillMessage } from './messages.ts';

/**
 * One strategy's kill gate, in memory its supervisor's thread and its worker thread share.
 *
 * Why: a kill broadcast delivered to every worker's own NATS connection costs one thread
 * wake-up per strategy, and on a machine with fewer cores than strategies those wake-ups queue
 * behind each other and behind market data (docs/latency.md, "Kill propagation"). The
 * supervisor takes the broadcast once, updates the gate of every strategy it hosts with atomic
 * stores, and acknowledges for them: from that store on, the worker's next `ctx.place` or
 * `ctx.modify` reads the closed gate and sends nothing, whatever the worker was busy with.
 *
 * One writer per gate (the supervisor, or the actor's own private gate when it runs without
 * one): two writers could interleave an older message's store after a newer one's.
 *
 * Cells: the global level and its revision, the strategy's own level and its revision.
 */
const GLOBAL = 0;
const GLOBAL_REV = 1;
const OWN = 2;
const OWN_REV = 3;

export class KillGate {
  private readonly cells: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT)) {
    this.cells = new Int32Array(buffer);
  }

  /** Starts from the levels read from the store at launch. */
  seed(global: KillLevel, own: KillLevel, revision: number): void {
    Atomics.store(this.cells, GLOBAL, global);
    Atomics.store(this.cells, OWN, own);
    Atomics.store(this.cells, GLOBAL_REV, revision);
    Atomics.store(this.cells, OWN_REV, revision);
  }

  /**
   * Takes one broadcast for `strategyId`; true when it concerned this strategy and changed or
   * confirmed its gate (the caller acknowledges it). A provisional message (sent before the
   * raise was stored) may only raise a level; a stored one sets it unless it is older than
   * what the gate holds.
   */
  apply(m: Pick<KillMessage, 'level' | 'scope' | 'revision' | 'provisional'>, strategyId: string): boolean {
    const [lvl, rev] = m.scope.kind === 'global' ? [GLOBAL, GLOBAL_REV] : m.scope.strategyId === strategyId ? [OWN, OWN_REV] : [-1, -1];
    if (lvl < 0) return false;
    if (m.provisional) {
      if (m.level <= Atomics.load(this.cells, lvl)) return false;
      Atomics.store(this.cells, lvl, m.level);
      return true;
    }
    if (m.revision < Atomics.load(this.cells, rev)) return false;
    Atomics.store(this.cells, rev, m.revision);
    Atomics.store(this.cells, lvl, m.level);
    return true;
  }

  /** The level the broker applies to this strategy: the higher of the two scopes. */
  level(): KillLevel {
    return Math.max(Atomics.load(this.cells, GLOBAL), Atomics.load(this.cells, OWN)) as KillLevel;
  }

  /**
   * True when the level forbids every place and modify, so the actor can refuse them without
   * asking: 1 (cancels only), 3 and 4 (no intents), as `permits` in broker/kill/levels.ts
   * decides. Level 2 lets orders that reduce the position through; the broker judges those.
   */
  blocksNewOrders(): boolean {
    const l = this.level();
    return l === 1 || l >= 3;
  }
}
