import type { Clock } from '../../actors/clock.ts';
import type { Logger } from '../../actors/logger.ts';
import { ERROR_POLICY, VenueError, type ErrorKind } from '../venue-errors.ts';
import { nextBackoff } from '../connection/backoff.ts';
import { neverArrived, venueError } from './errors.ts';
import { assertNever } from '../../actors/assert-never.ts';

/**
 * Runs venue calls under ERROR_POLICY. Reads are retried within their budget. Writes are never
 * retried on an outcome that might hide a landed order (timeout, 5xx, dropped connection): the
 * order is looked up first and the write repeated only when the venue confirms it is absent.
 * `decide` is the pure core; `KiteRetry` is the shell that sleeps on the injected Clock.
 */

export type Op = 'read' | 'write';
export type Budget = {
  /** Calls made so far (the first one included). */
  attempts: number;
  /** Retries already spent per error kind (ERROR_POLICY.maxRetries bounds each). */
  retries: Partial<Record<ErrorKind, number>>;
  reauthenticated: boolean;
};
export type Decision =
  | { type: 'fail' }
  | { type: 'reauthenticate' }
  | { type: 'wait'; delayMs: number }
  /** A write may have landed: wait, look it up, and retry only if absent and `retryIfAbsent`. */
  | { type: 'lookup'; delayMs: number; retryIfAbsent: boolean };

export type DecideOptions = {
  random: () => number;
  /** Pause before retrying a request that never reached the venue. */
  reconnectDelayMs: number;
  /** Give an in-flight write time to show up before we look for it. */
  lookupDelayMs: number;
  /** Hard cap over all kinds, so mixed failures cannot loop for long. */
  maxAttempts: number;
};

export const DEFAULT_DECIDE: Omit<DecideOptions, 'random'> = { reconnectDelayMs: 1_000, lookupDelayMs: 1_000, maxAttempts: 8 };

/**
 * Kite has no idempotency key: a request we stopped waiting for can still be executed after our
 * first look found nothing (it sat in a queue at the venue, or in a busy server's socket). So an
 * absence counts only when a second look, this long after the first, agrees.
 */
export const DEFAULT_CONFIRM_ABSENT_MS = 2_000;

export function decide(err: unknown, op: Op, b: Budget, o: DecideOptions): Decision {
  if (!(err instanceof VenueError)) return { type: 'fail' };
  const policy = ERROR_POLICY[err.kind];
  const used = b.retries[err.kind] ?? 0;
  const exhausted = used >= policy.maxRetries || b.attempts >= o.maxAttempts;
  const backoff = nextBackoff(used, o.random);
  switch (policy.action) {
    case 'never_retry':
    case 'alert':
    case 'halt_strategy':
      return { type: 'fail' };
    case 'reauthenticate':
      // Rejected at the door: nothing was executed, so writes may go again after re-auth.
      return b.reauthenticated || b.attempts >= o.maxAttempts ? { type: 'fail' } : { type: 'reauthenticate' };
    case 'backoff': {
      // A 429 refused the request outright, so a write is as safe to repeat as a read.
      if (exhausted) return { type: 'fail' };
      const delayMs = err.retryAfterMs !== undefined
        ? err.retryAfterMs + Math.floor(o.random() * Math.min(1_000, Math.max(100, err.retryAfterMs / 2)))
        : nextBackoff(used + 2, o.random); // ≥1 s ceiling: Kite's windows are one second
      return { type: 'wait', delayMs };
    }
    case 'retry':
      if (op === 'read') return exhausted ? { type: 'fail' } : { type: 'wait', delayMs: backoff };
      return { type: 'lookup', delayMs: Math.max(o.lookupDelayMs, backoff), retryIfAbsent: !exhausted };
    case 'lookup_first':
      if (op === 'read') return exhausted || err.kind !== 'Timeout' ? { type: 'fail' } : { type: 'wait', delayMs: backoff };
      return { type: 'lookup', delayMs: Math.max(o.lookupDelayMs, backoff), retryIfAbsent: !exhausted };
    case 'reconnect': {
      const delayMs = o.reconnectDelayMs + nextBackoff(used, o.random, { baseMs: o.reconnectDelayMs / 4, capMs: o.reconnectDelayMs * 8 });
      if (op === 'read' || neverArrived(err)) return exhausted ? { type: 'fail' } : { type: 'wait', delayMs };
      return { type: 'lookup', delayMs: Math.max(o.lookupDelayMs, delayMs), retryIfAbsent: !exhausted };
    }
    default:
      return assertNever(policy.action);
  }
}

export type LookupResult<T> = { found: true; value: T } | { found: false };
export type WriteResult<T> = { outcome: 'done'; value: T; attempts: number } | { outcome: 'found'; value: T; attempts: number };

export type RetryDeps = {
  clock: Clock;
  /** Fetches a fresh token (single-flight in the session manager). */
  reauthenticate: () => Promise<void>;
  random?: () => number;
  logger?: Logger;
  /** Time between the two lookups that must both find a write absent before it is repeated. */
  confirmAbsentMs?: number;
} & Partial<Omit<DecideOptions, 'random'>>;

export class KiteRetry {
  private readonly o: DecideOptions;
  constructor(private readonly deps: RetryDeps) {
    this.o = {
      random: deps.random ?? Math.random,
      reconnectDelayMs: deps.reconnectDelayMs ?? DEFAULT_DECIDE.reconnectDelayMs,
      lookupDelayMs: deps.lookupDelayMs ?? DEFAULT_DECIDE.lookupDelayMs,
      maxAttempts: deps.maxAttempts ?? DEFAULT_DECIDE.maxAttempts,
    };
  }

  async read<T>(label: string, call: () => Promise<T>): Promise<T> {
    const b: Budget = { attempts: 0, retries: {}, reauthenticated: false };
    for (;;) {
      b.attempts++;
      try {
        return await call();
      } catch (err) {
        const d = decide(err, 'read', b, this.o);
        this.note(label, err, d, b);
        if (d.type === 'fail' || d.type === 'lookup') throw err;
        await this.act(d, err as VenueError, b);
      }
    }
  }

  /**
   * `lookup` tells whether an earlier attempt of this write is visible at the venue; it runs
   * under read retries itself. If it cannot answer, the write's fate is unknown and we say so.
   * `confirmAbsence`: a write that would be harmful twice (a placement) is repeated only when a
   * second look, `confirmAbsentMs` after the first, finds it absent too.
   */
  async write<T>(label: string, call: () => Promise<T>, lookup: () => Promise<LookupResult<T>>, o: { confirmAbsence?: boolean } = {}): Promise<WriteResult<T>> {
    const b: Budget = { attempts: 0, retries: {}, reauthenticated: false };
    for (;;) {
      b.attempts++;
      try {
        return { outcome: 'done', value: await call(), attempts: b.attempts };
      } catch (err) {
        const d = decide(err, 'write', b, this.o);
        this.note(label, err, d, b);
        if (d.type === 'fail') throw err;
        const e = err as VenueError;
        if (d.type !== 'lookup') {
          await this.act(d, e, b);
          continue;
        }
        await this.deps.clock.sleep(d.delayMs);
        let found = await this.lookUp(label, e, lookup);
        if (!found.found && d.retryIfAbsent && o.confirmAbsence) {
          await this.deps.clock.sleep(this.deps.confirmAbsentMs ?? DEFAULT_CONFIRM_ABSENT_MS);
          found = await this.lookUp(label, e, lookup);
        }
        if (found.found) {
          this.deps.logger?.info({ venue: 'kite', label, attempts: b.attempts }, 'write had landed; not repeating it');
          return { outcome: 'found', value: found.value, attempts: b.attempts };
        }
        if (!d.retryIfAbsent) throw err;
        b.retries[e.kind] = (b.retries[e.kind] ?? 0) + 1;
      }
    }
  }

  private async lookUp<T>(label: string, e: VenueError, lookup: () => Promise<LookupResult<T>>): Promise<LookupResult<T>> {
    try {
      return await this.read(`${label} lookup`, lookup);
    } catch (lookupErr) {
      throw venueError(e.kind, `${label}: outcome unknown after ${e.kind}; lookup failed: ${(lookupErr as Error).message}`, {
        ...(e.status !== undefined ? { status: e.status } : {}),
        cause: lookupErr,
      });
    }
  }

  private async act(d: Decision, e: VenueError, b: Budget): Promise<void> {
    if (d.type === 'reauthenticate') {
      b.reauthenticated = true;
      await this.deps.reauthenticate();
    } else if (d.type === 'wait') {
      b.retries[e.kind] = (b.retries[e.kind] ?? 0) + 1;
      await this.deps.clock.sleep(d.delayMs);
    }
  }

  private note(label: string, err: unknown, d: Decision, b: Budget): void {
    const kind = err instanceof VenueError ? err.kind : 'unexpected';
    this.deps.logger?.warn({ venue: 'kite', label, kind, decision: d.type, attempt: b.attempts }, 'kite call failed');
  }
}
