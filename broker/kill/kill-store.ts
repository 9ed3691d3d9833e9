import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Clock } from '../../actors/clock.ts';
import { KV_KILL, subjects } from '../../actors/subjects.ts';
import { KillLevelSchema, KillMessageSchema, type KillLevel, type KillScope } from '../../actors/messages.ts';
import { publishJson } from '../../actors/bus.ts';
import { registry as sharedRegistry } from '../../actors/metrics.ts';
import { catalogue } from '../../actors/metric-catalogue.ts';
import { ensureReplicas } from '../replicas.ts';
import { ACTIVE_ENTRY, scopeKey, scopeLabel, type Figures, type KillEntry, type KillLevels } from './levels.ts';
import { KillStoreError } from '../errors.ts';

/**
 * The latched kill level in JetStream KV (bucket `KV_KILL`, keys `global` and
 * `strategy.<id>`). Writes are compare-and-set on the key's revision, so two automations
 * raising at once can never leave the lower level standing. Every write is announced on
 * `orch.kill` with its revision; every reader keeps `orch_kill_level{scope}` current.
 *
 * Who may lower: the NATS server is the authority. Only the `broker` and `operator` users may
 * write the bucket at all (docs/permissions.md); in code, `reset` works only on a store opened
 * with `role: 'operator'` (the CLI, connected as the operator user), and the broker opens its
 * store as `automation`, whose only write is `raise`.
 */
export type KillRole = 'automation' | 'operator' | 'reader';

export type KillState = KillLevels & {
  /** Stream revision the state is complete up to: a watch resumes at revision + 1. */
  revision: number;
};

export type KillChange = { key: string; scope: KillScope; entry: KillEntry; state: KillState };
export type WriteResult = { changed: boolean; entry: KillEntry; revision: number };
export type KillWatch = { stop(): void; /** Settles when the watch ends. */ done: Promise<void> };

export type KillStoreOptions = {
  clock: Clock;
  log?: Logger;
  role?: KillRole;
  registry?: Registry;
  /** Test seam; production uses KV_KILL. */
  bucket?: string;
  /** Copies of the bucket a writer creates (broker/replicas.ts; default 1). */
  replicas?: number;
};

const FiguresSchema = z.record(z.string(), z.union([z.number(), z.string()]));
/** The stored value; `revision` is the KV's, not part of the JSON. */
export const KillValueSchema = z.strictObject({
  level: KillLevelSchema,
  reason: z.string().min(1),
  by: z.string().min(1),
  ts: z.number().int().nonnegative(),
  figures: FiguresSchema.optional(),
  restartRequired: z.boolean().optional(),
  flattenRevision: z.number().int().nonnegative().optional(),
});
export type KillValue = z.infer<typeof KillValueSchema>;

const CAS_ATTEMPTS = 8;
const KEEP_HISTORY = 64; // per key: the audit trail `nats kv history orch_kill global` shows

export class KillStore {
  private state: KillState = { global: ACTIVE_ENTRY, strategies: {}, revision: 0 };
  /** Revision of this process's first read: a level-4 raised after it means "restart me". */
  private startRevision: number | undefined;
  private restartLatched = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly opts: KillStoreOptions & { role: KillRole },
  ) {}

  static async open(nc: NatsConnection, opts: KillStoreOptions): Promise<KillStore> {
    const role = opts.role ?? 'automation';
    const kvm = new Kvm(nc);
    const name = opts.bucket ?? KV_KILL;
    // Readers have no right to create streams; writers create the bucket on first use.
    const kv = role === 'reader' ? await kvm.open(name) : await kvm.create(name, { history: KEEP_HISTORY, ...(opts.replicas !== undefined ? { replicas: opts.replicas } : {}) });
    // A bucket made on a single server gets the cluster's copies (creating an existing bucket keeps its config).
    if (role !== 'reader' && opts.replicas !== undefined) await ensureReplicas(nc, `KV_${name}`, opts.replicas);
    return new KillStore(nc, kv, { ...opts, role });
  }

  /** The state as last read or watched, without I/O. */
  current(): KillState {
    return this.state;
  }

  /**
   * A consistent snapshot: the stream's last revision is read before and after the keys, and
   * the read is repeated if anything was written in between.
   */
  async read(): Promise<KillState> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const before = await this.lastRevision();
      const keys: string[] = [];
      for await (const k of await this.kv.keys()) keys.push(k);
      const snapshot: KillState = { global: ACTIVE_ENTRY, strategies: {}, revision: before };
      for (const key of keys) {
        const e = await this.kv.get(key);
        if (e) this.put(snapshot, e.key, this.entryOf(e));
      }
      if ((await this.lastRevision()) !== before) continue;
      this.state = snapshot;
      this.startRevision ??= before;
      this.refreshGauges(snapshot);
      return snapshot;
    }
    throw new KillStoreError('contended', 'kill bucket kept changing during the read');
  }

  /**
   * Delivers every change after `fromRevision` (default: after the last read) in revision
   * order. The first call to `read` must come before, or use `readThenWatch`.
   */
  async watch(cb: (change: KillChange) => void, fromRevision = this.state.revision + 1): Promise<KillWatch> {
    const it = await this.kv.watch({ key: '>', resumeFromRevision: Math.max(1, fromRevision) });
    const done = this.consume(it, cb, fromRevision - 1).catch((err: unknown) => {
      // A watch that ends with the connection must not become an unhandled rejection.
      this.opts.log?.error({ err }, 'kill watch ended with an error');
    });
    return { stop: () => it.stop(), done };
  }

  private async consume(it: AsyncIterable<KvEntry>, cb: (change: KillChange) => void, after: number): Promise<void> {
    let delivered = after;
    for await (const e of it) {
      // The ordered consumer redelivers after a server restart; each revision goes out once.
      if (e.revision <= delivered) continue;
      delivered = e.revision;
      const entry = this.entryOf(e);
      this.apply(e.key, entry, true);
      try {
        cb({ key: e.key, scope: scopeOfKey(e.key), entry, state: this.state });
      } catch (err) {
        this.opts.log?.error({ err, key: e.key }, 'kill watch callback failed');
      }
    }
  }

  /** What an actor does first on start: the state, then every change after it, with no gap. */
  async readThenWatch(cb: (change: KillChange) => void): Promise<{ state: KillState; watch: KillWatch }> {
    const state = await this.read();
    const watch = await this.watch(cb, state.revision + 1);
    return { state, watch };
  }

  /**
   * Automation's only write: raises the scope to `level` unless it is already there or higher.
   * Level 4 marks the entry as requiring a restart of every process that saw it.
   */
  async raise(level: KillLevel, scope: KillScope, reason: string, by: string, figures?: Figures): Promise<WriteResult> {
    if (this.opts.role === 'reader') throw new KillStoreError('read_only', 'this kill store was opened read-only');
    // Fast path: halting early is always safe, so the raise is announced before JetStream has
    // stored it, and the stored outcome follows (even when the raise turns out to change nothing).
    let announced = false;
    if (level > this.held(scope).level) {
      this.announce(scope, { level, reason, by, ts: this.opts.clock.now(), revision: this.state.revision, ...(figures ? { figures } : {}) }, true);
      announced = true;
    }
    return this.write(scope, announced, (cur) => {
      if (level <= cur.level) return undefined;
      const v: KillValue = { level, reason, by, ts: this.opts.clock.now(), ...carryRestart(cur) };
      if (figures) v.figures = figures;
      if (level === 4) v.restartRequired = true;
      return v;
    });
  }

  /**
   * The operator's lowering. A reset out of level 4 keeps `restartRequired` and records the
   * level-4 revision, so a process that was running then refuses to trade until restarted.
   */
  async reset(level: KillLevel, scope: KillScope, reason: string, operator: string): Promise<WriteResult> {
    if (this.opts.role !== 'operator') throw new KillStoreError('not_operator', 'only a store opened with the operator role may lower a kill level');
    return this.write(scope, false, (cur) => {
      if (level >= cur.level) return undefined;
      const v: KillValue = { level, reason, by: `operator:${operator}`, ts: this.opts.clock.now(), ...carryRestart(cur) };
      return v;
    });
  }

  /**
   * True once this process has seen a level 4 raised after it started reading: it must
   * restart before trading, even after the level is reset. Latched for the process's life.
   */
  mustRestart(strategyId?: string): boolean {
    if (this.restartLatched) return true;
    const start = this.startRevision ?? Number.POSITIVE_INFINITY;
    const entries = [this.state.global, ...(strategyId ? [this.state.strategies[strategyId]] : Object.values(this.state.strategies))];
    this.restartLatched = entries.some((e) => e?.restartRequired && (e.flattenRevision ?? e.revision) > start);
    return this.restartLatched;
  }

  /** The entry this store last saw for a scope (its revision 0 when it has seen none). */
  private held(scope: KillScope): KillEntry {
    return scope.kind === 'global' ? this.state.global : (this.state.strategies[scope.strategyId] ?? ACTIVE_ENTRY);
  }

  /**
   * Compare-and-set on the key. The first attempt trusts the entry this store already holds
   * (kept current by its watch), saving a read on the kill path; a stale one fails the
   * revision check and the next attempt reads the key.
   */
  private async write(scope: KillScope, announced: boolean, next: (cur: KillEntry) => KillValue | undefined): Promise<WriteResult> {
    const key = scopeKey(scope);
    const held = this.held(scope);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      let cur: KillEntry;
      let expected: number | undefined;
      const trusted = attempt === 0 && held.revision > 0;
      if (trusted) {
        cur = held;
        expected = held.revision;
      } else {
        const e = await this.kv.get(key);
        const live = e && e.operation === 'PUT' ? e : undefined;
        cur = live ? this.decode(live) : { ...ACTIVE_ENTRY, revision: e?.revision ?? 0 };
        expected = e?.revision;
      }
      const value = next(cur);
      // "Nothing to do" on a held entry is not proof: a lowering may be on its way to our watch.
      if (!value && trusted) continue;
      if (!value) {
        // Only the stored entry may stand: it replaces what a provisional announcement said.
        if (announced) this.announce(scope, cur);
        return { changed: false, entry: cur, revision: cur.revision };
      }
      let revision: number;
      try {
        revision = expected !== undefined ? await this.kv.update(key, JSON.stringify(value), expected) : await this.kv.create(key, JSON.stringify(value));
      } catch (err) {
        if (isWrongSequence(err)) continue;
        throw err;
      }
      const entry = toEntry(value, revision);
      this.apply(key, entry);
      this.announce(scope, entry);
      this.opts.log?.warn({ scope: scopeLabel(scope), killLevel: entry.level, by: entry.by, reason: entry.reason, revision }, 'kill level written');
      return { changed: true, entry, revision };
    }
    throw new KillStoreError('contended', `kill key ${key} kept changing; gave up after ${CAS_ATTEMPTS} attempts`);
  }

  private announce(scope: KillScope, entry: KillEntry, provisional = false): void {
    const msg = {
      type: 'kill' as const, level: entry.level, scope, reason: entry.reason, by: entry.by, ts: entry.ts, revision: entry.revision,
      ...(entry.figures ? { figures: entry.figures } : {}), ...(provisional ? { provisional: true as const } : {}),
    };
    publishJson(this.nc, subjects.kill(), KillMessageSchema, msg);
  }

  /** Takes an entry into the state if it is newer than the one held for its key. */
  private apply(key: string, entry: KillEntry, watched = false): void {
    const held = key === 'global' ? this.state.global : this.state.strategies[strategyOfKey(key) ?? ''];
    const newer = !held || held.revision < entry.revision;
    // Only the watch proves the state complete up to a revision; our own write may skip others'.
    const advances = watched && entry.revision > this.state.revision;
    if (!newer && !advances) return;
    const next: KillState = { ...this.state, strategies: { ...this.state.strategies } };
    if (newer) this.put(next, key, entry);
    if (advances) next.revision = entry.revision;
    this.state = next;
    this.refreshGauges(next);
  }

  private put(into: KillState, key: string, entry: KillEntry): void {
    if (key === 'global') into.global = entry;
    else {
      const id = strategyOfKey(key);
      if (id) (into.strategies as Record<string, KillEntry>)[id] = entry;
    }
  }

  private entryOf(e: KvEntry): KillEntry {
    return e.operation === 'PUT' ? this.decode(e) : { ...ACTIVE_ENTRY, reason: 'key deleted', by: 'unknown', revision: e.revision };
  }

  /** An unreadable kill value fails closed: HALT ALL until someone writes a valid one. */
  private decode(e: KvEntry): KillEntry {
    let raw: unknown;
    try {
      raw = e.json();
    } catch {
      raw = undefined;
    }
    const r = KillValueSchema.safeParse(raw);
    if (r.success) return toEntry(r.data, e.revision);
    this.opts.log?.error({ key: e.key, revision: e.revision }, 'unreadable kill entry; treating it as level 3');
    return { level: 3, reason: `unreadable kill entry at revision ${e.revision}`, by: 'kill-store', ts: 0, revision: e.revision };
  }

  private refreshGauges(state: KillState): void {
    const gauge = catalogue(this.opts.registry ?? sharedRegistry).killLevel;
    gauge.set({ scope: 'global' }, state.global.level);
    for (const [id, e] of Object.entries(state.strategies)) gauge.set({ scope: id }, e.level);
  }

  private async lastRevision(): Promise<number> {
    const s = await this.kv.status();
    return s.streamInfo.state.last_seq;
  }
}

function toEntry(v: KillValue, revision: number): KillEntry {
  const entry: KillEntry = { level: v.level, reason: v.reason, by: v.by, ts: v.ts, revision };
  if (v.figures) entry.figures = v.figures;
  if (v.restartRequired) {
    entry.restartRequired = true;
    // A level-4 entry is its own flatten point; a reset carries the raise's revision forward.
    entry.flattenRevision = v.level === 4 ? revision : (v.flattenRevision ?? revision);
  }
  return entry;
}

/** Later writes keep the restart demand so an unrestarted process cannot slip through. */
function carryRestart(cur: KillEntry): Pick<KillValue, 'restartRequired' | 'flattenRevision'> {
  if (!cur.restartRequired) return {};
  return { restartRequired: true, flattenRevision: cur.flattenRevision ?? cur.revision };
}

function strategyOfKey(key: string): string | undefined {
  return key.startsWith('strategy.') ? key.slice('strategy.'.length) : undefined;
}

function scopeOfKey(key: string): KillScope {
  const id = strategyOfKey(key);
  return id ? { kind: 'strategy', strategyId: id } : { kind: 'global' };
}

function isWrongSequence(err: unknown): boolean {
  const e = err as { code?: number; message?: string; api_error?: { err_code?: number } };
  return e?.api_error?.err_code === 10071 || /wrong last sequence/i.test(e?.message ?? '');
}
