/**
 * The broker's own errors, in one table: what each code means for whoever catches it. A
 * venue's errors are the other catalogue of this layer (VenueError, broker/venue-errors.ts,
 * whose policy table this follows). Every class here is a BrokerError with a `code` from the
 * table, `retryable` read from it, and a `cause`; it crosses NATS as `toWire()`.
 */
export type BrokerErrorPolicy = {
  /** Trying the same thing again later can succeed without anyone acting. */
  retryable: boolean;
  /** What the caller does with it. */
  action: 'refuse_write' | 'refuse_operator' | 'retry_read' | 'stop';
};

export const BROKER_ERROR_POLICY = Object.freeze({
  /** The event log is at its size limit: nothing more is stored, so no write may go (docs/event-log.md). */
  event_log_full: { retryable: false, action: 'refuse_write' },
  /** The write-ahead did not store: the order was not sent, the intent is denied (rule event_log_unavailable). */
  write_ahead_failed: { retryable: false, action: 'refuse_write' },
  /** The limiter was closed (the broker is stopping): the waiting request is not sent. */
  limiter_closed: { retryable: false, action: 'stop' },
  /** Lowering a kill level takes the operator's store (docs/kill-switch.md). */
  not_operator: { retryable: false, action: 'refuse_operator' },
  /** A store opened to read the level was asked to write it. */
  read_only: { retryable: false, action: 'refuse_operator' },
  /** The kill key kept changing under a compare-and-set: read it again and retry. */
  contended: { retryable: true, action: 'retry_read' },
  /** A kill scope that is neither `global` nor `strategy.<id>`. */
  invalid_scope: { retryable: false, action: 'refuse_operator' },
} satisfies Record<string, BrokerErrorPolicy>);
export type BrokerErrorCode = keyof typeof BROKER_ERROR_POLICY;

export type BrokerErrorWire = { name: string; code: BrokerErrorCode; message: string };

export class BrokerError extends Error {
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'BrokerError';
  }
  get policy(): BrokerErrorPolicy {
    return BROKER_ERROR_POLICY[this.code];
  }
  get retryable(): boolean {
    return this.policy.retryable;
  }
  toWire(): BrokerErrorWire {
    return { name: this.name, code: this.code, message: this.message };
  }
  static fromWire(w: BrokerErrorWire): BrokerError {
    const e = new BrokerError(w.code, w.message);
    e.name = w.name;
    return e;
  }
}

/** The stream refused an event because it is at its size (or count) limit. */
export class EventLogFullError extends BrokerError {
  declare readonly code: 'event_log_full';
  constructor(cause?: Error) {
    super('event_log_full', `event log full${cause ? ` (${cause.message})` : ''}: archive old days (orch events export) and purge them`, cause);
    this.name = 'EventLogFullError';
  }
}

/** The write-ahead did not store: the order was not sent (rule event_log_unavailable). */
export class WriteAheadFailed extends BrokerError {
  declare readonly code: 'write_ahead_failed';
  constructor(cause: unknown) {
    super('write_ahead_failed', (cause as Error | undefined)?.message ?? String(cause), cause);
    this.name = 'WriteAheadFailed';
  }
}

export class LimiterClosedError extends BrokerError {
  declare readonly code: 'limiter_closed';
  constructor(message = 'limiter is closed') {
    super('limiter_closed', message);
    this.name = 'LimiterClosedError';
  }
}

export type KillStoreErrorCode = Extract<BrokerErrorCode, 'not_operator' | 'read_only' | 'contended' | 'invalid_scope'>;
export class KillStoreError extends BrokerError {
  declare readonly code: KillStoreErrorCode;
  constructor(code: KillStoreErrorCode, message: string) {
    super(code, message);
    this.name = 'KillStoreError';
  }
}
