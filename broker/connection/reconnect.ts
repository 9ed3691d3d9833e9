import { nextBackoff, RECONNECT_BACKOFF } from './backoff.ts';
import { assertNever } from '../../actors/assert-never.ts';

/**
 * The eight-step reconnect protocol of a market-data socket as a pure state machine, one per
 * socket, shared by both venues (Kite's ticker sockets, Kalshi's WebSocket):
 * detect → emit disconnected → back off (full jitter under 1, 2, 4, 8, 16, 30 s) → reconnect →
 * resubscribe → emit reconnected → emit reconcile → resume. The shell (broker/kite/ticker-client.ts,
 * broker/kalshi/ws-client.ts) feeds it socket events and watchdog checks, carries out the
 * effects in the order returned, and says `resubscribed` once the venue has taken every
 * subscription again (at once for Kite, whose subscribe is unacknowledged; after every command
 * is answered for Kalshi).
 */

/** Milliseconds before reconnect attempt `attempt` (0 = the first after the loss). */
export function reconnectDelay(attempt: number, random: () => number): number {
  return nextBackoff(attempt, random, RECONNECT_BACKOFF);
}

export type Timing = {
  /** No frame at all (not even a heartbeat) for this long: the socket is dead. Kite's own clients use 5 s. */
  silentMs: number;
  /** No tick for this long while the market is open and something is subscribed: the feed is stale. */
  staleMs: number;
  /** A handshake (and then the resubscription) that has not completed by then is abandoned. */
  connectTimeoutMs: number;
};
export const DEFAULT_TIMING: Timing = { silentMs: 5_000, staleMs: 60_000, connectTimeoutMs: 10_000 };

export type DisconnectReason = 'closed' | 'error' | 'silent' | 'stale' | 'connect_timeout' | 'auth' | 'resubscribe_failed';

export type ConnPhase =
  /** `downSince` is null on the very first connect, else when the outage began. */
  | { kind: 'connecting'; startedAt: number; attempt: number; downSince: number | null }
  /** The socket is up; the venue is taking the subscriptions again. Not yet usable. */
  | { kind: 'resubscribing'; startedAt: number; attempt: number; downSince: number | null }
  | { kind: 'open'; since: number; lastFrameAt: number; lastTickAt: number }
  | { kind: 'disconnected'; since: number; attempt: number; reason: DisconnectReason }
  | { kind: 'closed' };

export type Input =
  | { type: 'socket_open' }
  | { type: 'resubscribed' }
  | { type: 'socket_lost'; reason: DisconnectReason }
  | { type: 'frame'; tick: boolean }
  | { type: 'check'; marketOpen: boolean; hasSubscriptions: boolean }
  | { type: 'retry_due' }
  | { type: 'close' };

export type Effect =
  | { type: 'open_socket' }
  | { type: 'close_socket' }
  | { type: 'emit_disconnected'; reason: DisconnectReason; since: number }
  | { type: 'schedule_retry'; delayMs: number; attempt: number }
  | { type: 'cancel_retry' }
  | { type: 'resubscribe' }
  | { type: 'emit_reconnected'; downMs: number; attempts: number }
  | { type: 'emit_reconcile' }
  | { type: 'resume' };

export type Step = { state: ConnPhase; effects: Effect[] };

export function initialPhase(now: number): Step {
  return { state: { kind: 'connecting', startedAt: now, attempt: 0, downSince: null }, effects: [{ type: 'open_socket' }] };
}

export function step(s: ConnPhase, input: Input, now: number, random: () => number, timing: Timing = DEFAULT_TIMING): Step {
  const same: Step = { state: s, effects: [] };
  if (input.type === 'close') {
    return s.kind === 'closed' ? same : { state: { kind: 'closed' }, effects: [{ type: 'cancel_retry' }, { type: 'close_socket' }] };
  }
  switch (s.kind) {
    case 'closed':
      return same;
    case 'connecting':
      switch (input.type) {
        case 'socket_open':
          return { state: { kind: 'resubscribing', startedAt: now, attempt: s.attempt, downSince: s.downSince }, effects: [{ type: 'resubscribe' }] };
        case 'socket_lost':
          return lost(s, input.reason, now, random);
        case 'check':
          return now - s.startedAt >= timing.connectTimeoutMs ? lost(s, 'connect_timeout', now, random) : same;
        default:
          return same;
      }
    case 'resubscribing':
      switch (input.type) {
        case 'resubscribed': {
          const effects: Effect[] = [];
          if (s.downSince !== null) effects.push({ type: 'emit_reconnected', downMs: now - s.downSince, attempts: s.attempt }, { type: 'emit_reconcile' });
          effects.push({ type: 'resume' });
          return { state: { kind: 'open', since: now, lastFrameAt: now, lastTickAt: now }, effects };
        }
        case 'socket_lost':
          return lost(s, input.reason, now, random);
        case 'check':
          return now - s.startedAt >= timing.connectTimeoutMs ? lost(s, 'connect_timeout', now, random) : same;
        default:
          return same; // frames before the resubscription completes (Kalshi's answers) change nothing
      }
    case 'open':
      switch (input.type) {
        case 'frame':
          return { state: { ...s, lastFrameAt: now, lastTickAt: input.tick ? now : s.lastTickAt }, effects: [] };
        case 'socket_lost':
          return lost(s, input.reason, now, random);
        case 'check': {
          if (now - s.lastFrameAt >= timing.silentMs) return lost(s, 'silent', now, random);
          // Outside market hours, or with nothing subscribed, silence in ticks is expected: keep the stale clock at zero.
          if (!input.marketOpen || !input.hasSubscriptions) return { state: { ...s, lastTickAt: now }, effects: [] };
          if (now - s.lastTickAt >= timing.staleMs) return lost(s, 'stale', now, random);
          return same;
        }
        default:
          return same;
      }
    case 'disconnected':
      if (input.type === 'retry_due') {
        return { state: { kind: 'connecting', startedAt: now, attempt: s.attempt + 1, downSince: s.since }, effects: [{ type: 'open_socket' }] };
      }
      return same; // a second close/error for a socket already given up is noise
    default:
      return assertNever(s);
  }
}

function lost(s: Extract<ConnPhase, { kind: 'open' | 'connecting' | 'resubscribing' }>, reason: DisconnectReason, now: number, random: () => number): Step {
  const failedRetry = s.kind !== 'open' && s.downSince !== null;
  if (failedRetry) {
    // Still the same outage: no second 'disconnected', just the next, longer wait.
    return {
      state: { kind: 'disconnected', since: s.downSince!, attempt: s.attempt, reason },
      effects: [{ type: 'close_socket' }, { type: 'schedule_retry', delayMs: reconnectDelay(s.attempt, random), attempt: s.attempt }],
    };
  }
  return {
    state: { kind: 'disconnected', since: now, attempt: 0, reason },
    effects: [
      { type: 'close_socket' },
      { type: 'emit_disconnected', reason, since: now },
      { type: 'schedule_retry', delayMs: reconnectDelay(0, random), attempt: 0 },
    ],
  };
}
