import type { Clock } from '../../actors/clock.ts';

/** Fault injection for the built-in Kalshi exchange; see KalshiFaults in index.ts. */
export type KalshiFaults = {
  /** Terminate every WebSocket connection now (no close handshake). */
  dropSockets(): void;
  /** Stop sending on the sockets open now (data and pings) for `ms` of sim time; frames are held, then flushed. */
  stallSockets(ms: number): void;
  /** The next orderbook message skips one sequence number. */
  skipSequence(): void;
  /** A terminal error (10 channel error, 25 buffer overflow) ends every live orderbook subscription. */
  failSubscriptions(code: 10 | 25): void;
  /** Every REST call gets a bare 429 (no Retry-After, as at Kalshi) for `ms` of sim time. */
  rateLimitStorm(ms: number): void;
  /** The next `n` writes are applied but their responses are never sent. */
  acceptThenTimeout(n: number): void;
  /** The next `n` REST calls are answered with `status` without being applied. */
  failNext(n: number, status: number): void;
};

export class FaultState {
  skipSeq = 0;
  stormUntil = 0;
  swallowWrites = 0;
  failCount = 0;
  failStatus = 500;
  constructor(private readonly clock: Clock) {}

  stormWaitMs(): number {
    return Math.max(0, this.stormUntil - this.clock.now());
  }
  takeFailure(): number | undefined {
    if (this.failCount <= 0) return undefined;
    this.failCount--;
    return this.failStatus;
  }
  takeSwallow(): boolean {
    if (this.swallowWrites <= 0) return false;
    this.swallowWrites--;
    return true;
  }
  takeSkip(): boolean {
    if (this.skipSeq <= 0) return false;
    this.skipSeq--;
    return true;
  }
}
