import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { nuid } from '@nats-io/nuid';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../actors/clock.ts';
import { KV_LEASE } from '../actors/subjects.ts';
import { ensureReplicas } from './replicas.ts';

/**
 * Exactly one broker may talk to the venues: the holder of a lease in JetStream KV
 * (bucket KV_LEASE, key `broker`). The holder renews it every `renewMs` with a
 * compare-and-set on the key's revision. A standby never trusts another host's clock: it
 * watches the revision, and takes over (again by compare-and-set) only after the revision
 * has stood still for `ttlMs` of its own Clock. A holder that cannot renew within `ttlMs`
 * fences itself, because by then a standby may have taken over.
 */
export const LeaseValueSchema = z.strictObject({
  holder: z.string().min(1), host: z.string(), pid: z.number().int(), ts: z.number().int(),
  /**
   * This holder's epoch: the second it took the lease, and always above its predecessor's (absent
   * in a value written before epochs). Ticks are numbered from it (actors/messages.ts TICK_EPOCH_SPAN).
   */
  epoch: z.number().int().nonnegative().optional(),
});
export type LeaseValue = z.infer<typeof LeaseValueSchema>;

export type LeaseOptions = {
  clock: Clock;
  log: Logger;
  /** Default 10 s. */
  ttlMs?: number;
  /** Default ttlMs / 3. */
  renewMs?: number;
  holder?: string;
  bucket?: string;
  key?: string;
  /** Copies of the lease bucket (broker/replicas.ts; default 1). */
  replicas?: number;
};

export class BrokerLease {
  readonly holder: string;
  private readonly ttlMs: number;
  private readonly renewMs: number;
  private readonly key: string;
  private revision: number | undefined;
  private lastRenewed = 0;
  private timer: TimerHandle | undefined;
  private lostHandlers: ((reason: string) => void)[] = [];
  private seen: { revision: number; since: number } | undefined;
  private stopped = false;
  private heldEpoch = 0;

  private constructor(private readonly kv: KV, private readonly o: LeaseOptions) {
    this.holder = o.holder ?? `broker-${hostname()}-${process.pid}-${nuid.next().slice(-6)}`;
    this.ttlMs = o.ttlMs ?? 10_000;
    this.renewMs = o.renewMs ?? Math.max(1, Math.floor(this.ttlMs / 3));
    this.key = o.key ?? 'broker';
  }

  static async open(nc: NatsConnection, o: LeaseOptions): Promise<BrokerLease> {
    const bucket = o.bucket ?? KV_LEASE;
    const kv = await new Kvm(nc).create(bucket, { history: 1, ...(o.replicas !== undefined ? { replicas: o.replicas } : {}) });
    if (o.replicas !== undefined) await ensureReplicas(nc, `KV_${bucket}`, o.replicas);
    return new BrokerLease(kv, o);
  }

  /**
   * Above every earlier holder's: the second this holder took the lease, or its predecessor's
   * epoch + 1 if that is higher (another host's clock may be ahead); 0 until acquired. A broker
   * numbers its ticks from it, so its successor's ticks follow the ones strategies have seen.
   */
  get epoch(): number {
    return this.heldEpoch;
  }

  held(): boolean {
    return this.revision !== undefined;
  }

  /**
   * Why this holder cannot vouch for its lease right now, by its own clock: not held, or no
   * renewal sent for `ttlMs - renewMs` (a standby takes over `ttlMs` after the last renewal it
   * saw, so this stops a frozen holder a renewal period before anyone else may start). A healthy
   * holder renews every `renewMs`.
   */
  whyNotSafe(): string | undefined {
    if (this.revision === undefined) return 'the lease is not held';
    const since = this.o.clock.now() - this.lastRenewed;
    return since >= this.ttlMs - this.renewMs ? `no lease renewal for ${since} ms (safe for ${this.ttlMs - this.renewMs} ms)` : undefined;
  }

  onLost(fn: (reason: string) => void): void {
    this.lostHandlers.push(fn);
  }

  /** Resolves once this process holds the lease; until then it is a standby, polling on the Clock. */
  async acquire(): Promise<void> {
    let announced = false;
    for (;;) {
      if (this.stopped) throw new Error('lease: stopped before it was acquired');
      const r = await this.tryAcquire();
      if (r === 'held') break;
      if (!announced) this.o.log.warn({ holder: r }, 'another broker holds the lease; waiting as standby');
      announced = true;
      await this.o.clock.sleep(this.renewMs);
    }
    this.o.log.info({ holder: this.holder, ttlMs: this.ttlMs }, 'broker lease acquired');
    this.timer = this.o.clock.setInterval(() => void this.renew(), this.renewMs);
  }

  /** Gives the lease up at a clean shutdown so a successor need not wait for it to lapse. */
  async release(): Promise<void> {
    this.stopped = true;
    this.o.clock.clearInterval(this.timer);
    const rev = this.revision;
    this.revision = undefined;
    if (rev === undefined) return;
    await this.kv.delete(this.key, { previousSeq: rev }).catch(() => undefined);
  }

  /** 'held', or the current holder's name. */
  private async tryAcquire(): Promise<'held' | string> {
    const now = this.o.clock.now();
    let e;
    try {
      e = await this.kv.get(this.key);
    } catch (err) {
      return `unknown (${(err as Error).message})`;
    }
    const cur = e && e.operation === 'PUT' ? LeaseValueSchema.safeParse(safeJson(e)) : undefined;
    const ours = cur?.success === true && cur.data.holder === this.holder;
    const epoch = ours ? this.heldEpoch : Math.max(Math.floor(now / 1000), (cur?.success ? (cur.data.epoch ?? 0) : 0) + 1, this.heldEpoch + 1);
    const value = JSON.stringify({ holder: this.holder, host: hostname(), pid: process.pid, ts: now, epoch } satisfies LeaseValue);
    try {
      if (!e || e.operation !== 'PUT') {
        this.revision = await this.kv.create(this.key, value);
      } else {
        if (cur?.success && cur.data.holder === this.holder) {
          this.revision = await this.kv.update(this.key, value, e.revision);
        } else {
          if (!this.seen || this.seen.revision !== e.revision) this.seen = { revision: e.revision, since: now };
          if (now - this.seen.since < this.ttlMs) return cur?.success ? cur.data.holder : 'unreadable';
          this.o.log.warn({ previous: cur?.success ? cur.data.holder : 'unreadable', stoodStillMs: now - this.seen.since }, 'broker lease lapsed; taking over');
          this.revision = await this.kv.update(this.key, value, e.revision);
        }
      }
    } catch (err) {
      // Someone else wrote first: the race is lost, stay standby.
      this.revision = undefined;
      return `contended (${(err as Error).message})`;
    }
    this.lastRenewed = now;
    this.heldEpoch = epoch;
    return 'held';
  }

  private async renew(): Promise<void> {
    if (this.revision === undefined || this.stopped) return;
    const now = this.o.clock.now();
    const value = JSON.stringify({ holder: this.holder, host: hostname(), pid: process.pid, ts: now, epoch: this.heldEpoch } satisfies LeaseValue);
    try {
      this.revision = await this.kv.update(this.key, value, this.revision);
      this.lastRenewed = now;
    } catch (err) {
      const msg = (err as Error).message;
      if (/wrong last sequence/i.test(msg) || (err as { api_error?: { err_code?: number } }).api_error?.err_code === 10071) {
        // A renewal stored whose ack was lost (e.g. across a server restart) leaves us a revision behind ourselves.
        const e = await this.kv.get(this.key).catch(() => null);
        const cur = e && e.operation === 'PUT' ? LeaseValueSchema.safeParse(safeJson(e)) : undefined;
        if (e && cur?.success && cur.data.holder === this.holder) {
          this.revision = e.revision;
          return;
        }
        return this.lose(`another broker took the lease: ${msg}`);
      }
      if (now - this.lastRenewed >= this.ttlMs) return this.lose(`could not renew for ${now - this.lastRenewed} ms: ${msg}`);
      this.o.log.warn({ err: msg }, 'lease renewal failed; retrying');
    }
  }

  private lose(reason: string): void {
    this.revision = undefined;
    this.o.clock.clearInterval(this.timer);
    this.o.log.error({ reason }, 'broker lease lost');
    for (const fn of this.lostHandlers) fn(reason);
  }
}

function safeJson(e: { json<T>(): T }): unknown {
  try {
    return e.json();
  } catch {
    return undefined;
  }
}
