/**
 * The event log's size limit, kept by the writers themselves. nats-server before 2.10.5 can
 * drop the oldest entry of a full `discard: new` stream: it admits a message by its payload
 * size but stores it with its record overhead, then trims to the limit
 * (https://github.com/nats-io/nats-server/issues/4775, fixed by
 * https://github.com/nats-io/nats-server/pull/4772). So every writer in this process shares one
 * budget and refuses an event that would pass `limit`, and the stream itself is created with
 * `hardLimit`, some headroom above: it refuses too (a backstop) but is never filled to its edge.
 */

/**
 * Bytes a stored entry costs beyond its payload: the file store's record frame (30), the subject
 * (about 30) and the message-id headers (about 110). A little more than measured; the stream's
 * size read every few seconds corrects the running figure either way.
 */
export const RECORD_OVERHEAD_BYTES = 192;

/**
 * Once full, the log reopens only when the stream has shrunk below this share of the limit (old
 * days archived and purged: `orch events export`). A size read that merely corrects the running
 * estimate by a few entries must not let a handful of orders through a log the operator was
 * told is full, then refuse again.
 */
export const REOPEN_BELOW = 0.95;

export class EventLogBudget {
  /** Bytes in the stream as last read, plus what was admitted since. */
  private used = 0;
  /** Set by the first refusal; cleared by a size read below REOPEN_BELOW of the limit. */
  private full = false;

  /** `limit`: where events start being refused (orch_event_log_max_bytes). */
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit <= 0) throw new RangeError(`event log limit must be a positive integer of bytes, got ${limit}`);
  }

  /** What the stream is created with: the limit plus 1 % (at least 64 KiB) of headroom. */
  get hardLimit(): number {
    return this.limit + Math.max(64 * 1024, Math.ceil(this.limit / 100));
  }

  /** The stream's size as just read (`EventLogUsage`); corrects the running estimate. */
  observe(streamBytes: number): void {
    this.used = streamBytes;
    if (this.full && streamBytes < REOPEN_BELOW * this.limit) this.full = false;
  }

  /** True from the first refusal until the stream shrinks (REOPEN_BELOW). */
  isFull(): boolean {
    return this.full;
  }

  usedBytes(): number {
    return this.used;
  }

  /** Takes room for an entry of `payloadBytes`; false (and nothing taken) when it would pass the limit. */
  admit(payloadBytes: number): boolean {
    const cost = payloadBytes + RECORD_OVERHEAD_BYTES;
    if (this.full) return false;
    if (this.used + cost > this.limit) {
      this.full = true;
      return false;
    }
    this.used += cost;
    return true;
  }
}
