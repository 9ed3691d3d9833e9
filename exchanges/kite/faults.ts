/**
 * Fault injection. Counters are consumed by the REST pipeline and the ticker; the socket
 * faults act through hooks the ticker registers, so `sim.faults` works before any socket exists.
 */
import type { Clock } from '../../actors/clock.ts';

export type FailSpec = { status: number; errorType: string; message: string };

export type KiteFaults = {
  /** Close every ticker socket abruptly (no close frame). */
  dropSockets(): void;
  /** Send nothing on ticker sockets (ticks, heartbeats, order frames) for `ms` of Clock time. */
  stallSockets(ms: number): void;
  /** While on, new WebSocket upgrades are refused with 503. */
  refuseSockets(on: boolean): void;
  /** The next `n` REST calls fail with this error (default 503 NetworkException). */
  failNext(n: number, error?: Partial<FailSpec>): void;
  /**
   * Every order call answers 429 for `ms` of Clock time, from now or, with `fromFirstOrder`,
   * from the next order call on (so a test need not guess how long its system takes to start).
   */
  rateLimitStorm(ms: number, o?: { fromFirstOrder?: boolean }): void;
  /** The next `n` order writes are applied but never answered (until the client gives up or the sim closes). */
  acceptThenTimeout(n: number): void;
  /** The next `n` placed orders go REJECTED with this status_message. */
  rejectNext(n: number, reason?: string): void;
  /** The next `n` order placements answer 400 MarginException. */
  marginExceptionNext(n: number): void;
  /**
   * Each level of the book offers at most `units` to a market order (0: nothing within any
   * band), so a protected market order rests at its band edge; undefined ends it.
   */
  thinBook(units: number | undefined): void;
  /** Clears every pending fault. */
  reset(): void;
};

export type SocketHooks = { drop(): void };

const DEFAULT_FAIL: FailSpec = { status: 503, errorType: 'NetworkException', message: 'Service unavailable (simulated fault).' };
const DEFAULT_REJECT = 'Order rejected by the exchange (simulated fault).';

export class FaultState implements KiteFaults {
  private failQueue: FailSpec[] = [];
  private stormUntil = 0;
  private stormPendingMs: number | undefined;
  private stallUntil = 0;
  private refusing = false;
  private withhold = 0;
  private rejects: string[] = [];
  private marginErrors = 0;
  private sockets: SocketHooks | undefined;
  private depthCap: number | undefined;

  constructor(private readonly clock: Clock) {}

  attachSockets(hooks: SocketHooks): void {
    this.sockets = hooks;
  }

  dropSockets(): void {
    this.sockets?.drop();
  }
  stallSockets(ms: number): void {
    this.stallUntil = this.clock.now() + ms;
  }
  refuseSockets(on: boolean): void {
    this.refusing = on;
  }
  failNext(n: number, error: Partial<FailSpec> = {}): void {
    const spec = { ...DEFAULT_FAIL, ...error };
    for (let i = 0; i < n; i++) this.failQueue.push(spec);
  }
  rateLimitStorm(ms: number, o: { fromFirstOrder?: boolean } = {}): void {
    this.stormPendingMs = o.fromFirstOrder ? ms : undefined;
    this.stormUntil = o.fromFirstOrder ? 0 : this.clock.now() + ms;
  }
  acceptThenTimeout(n: number): void {
    this.withhold += n;
  }
  rejectNext(n: number, reason = DEFAULT_REJECT): void {
    for (let i = 0; i < n; i++) this.rejects.push(reason);
  }
  marginExceptionNext(n: number): void {
    this.marginErrors += n;
  }
  thinBook(units: number | undefined): void {
    this.depthCap = units;
  }
  /** The current thin-book cap (the engine asks on every match). */
  marketDepthCap(): number | undefined {
    return this.depthCap;
  }
  reset(): void {
    this.depthCap = undefined;
    this.failQueue = [];
    this.stormUntil = this.stallUntil = 0;
    this.stormPendingMs = undefined;
    this.refusing = false;
    this.withhold = this.marginErrors = 0;
    this.rejects = [];
  }

  // Consumers: each take* consumes one pending fault.
  takeFailure(): FailSpec | undefined {
    return this.failQueue.shift();
  }
  stormRetryAfterSec(): number | undefined {
    if (this.stormPendingMs !== undefined) {
      this.stormUntil = this.clock.now() + this.stormPendingMs;
      this.stormPendingMs = undefined;
    }
    const left = this.stormUntil - this.clock.now();
    return left > 0 ? Math.max(1, Math.ceil(left / 1000)) : undefined;
  }
  isStalled(): boolean {
    return this.clock.now() < this.stallUntil;
  }
  isRefusing(): boolean {
    return this.refusing;
  }
  takeWithhold(): boolean {
    if (this.withhold <= 0) return false;
    this.withhold--;
    return true;
  }
  takeRejection(): string | undefined {
    return this.rejects.shift();
  }
  takeMarginError(): boolean {
    if (this.marginErrors <= 0) return false;
    this.marginErrors--;
    return true;
  }
}
