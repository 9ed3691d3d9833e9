import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import type { Venue } from '../actors/messages.ts';
import type { StrategySpec } from '../config/registry.ts';
import type { EventLog } from './event-log.ts';
import type { Difference } from './events/schema.ts';
import type { KillSource } from './intents.ts';
import type { RateLimiter } from './limiter/types.ts';
import type { VenueError } from './venue-errors.ts';
import type { VenueAdapter } from './venue.ts';

/** What the broker actor (broker/broker-actor.ts) is built with; broker/start.ts fills it in. */
export type BrokerActorOptions = {
  natsUrl: string;
  /**
   * Why this broker may not trade now although it was not told it lost the lease: its holder
   * could not renew within the lease's safe window (broker/lease.ts `whyNotSafe`), as after a
   * freeze (SIGSTOP, a stalled VM) during which a standby may have taken over. Read before every
   * decision, so a woken broker refuses at its first intent, before any timer has run.
   */
  leaseUnsafe?: () => string | undefined;
  /** The lease epoch this broker holds (broker/lease.ts): its ticks are numbered from it (actors/messages.ts TICK_EPOCH_SPAN). */
  tickEpoch?: number;
  natsUser?: string;
  natsPass?: string;
  adapters: VenueAdapter[];
  strategies: readonly StrategySpec[];
  clock: Clock;
  log: Logger;
  /** The latched kill level every intent is judged against first. */
  kill: KillSource;
  eventLog?: (nc: NatsConnection) => EventLog;
  /** Called when a venue says the strategy has no margin: the strategy must halt. */
  onMarginException?: (strategyId: string, err: VenueError) => void;
  /** Periodic reconciliation (ms); 0 = only at start, after reconnects and on request. */
  reconcileIntervalMs?: number;
  /** How long a stop waits for queued events to be stored (default 10 s; broker/ledger.ts `flush`). */
  stopFlushMs?: number;
  /** The shared limiter: a place or modify that would wait in it longer than `maxPlaceWaitMs` is denied. */
  limiter?: RateLimiter;
  /**
   * Longest a place or a modify may queue for the venue's rate limit (default 5 s, half a
   * strategy's reply deadline). Past it the intent is denied `rate_limited` before any write,
   * rather than sent after the strategy has given up on its answer.
   */
  maxPlaceWaitMs?: number;
  /** How many refusals per strategy are logged per window (default 20 a minute); the counter counts all. */
  refusalLog?: { perWindow?: number; windowMs?: number };
  /** An unexplained position difference: raise the kill switch to level 2. */
  onReconcileMismatch?: (venue: Venue, differences: Difference[]) => Promise<void>;
  /** At start, a position neither the log nor the venue's fills explain is a mismatch ('kill', default) or the baseline. */
  externalAtStart?: 'baseline' | 'kill';
};
