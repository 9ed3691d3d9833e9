import type { Clock } from '../../actors/clock.ts';
import type { Logger } from '../../actors/logger.ts';
import type { FaultState } from './faults.ts';
import type { InstrumentIndex } from './instruments.ts';
import type { Market } from './market.ts';
import type { OrderEngine } from './orders.ts';
import type { PostbackSender } from './postbacks.ts';
import type { KiteSimCredentials, SessionStore } from './sessions.ts';

export type WebLoginAnswer = 'json' | 'redirect';

/** Everything a route handler may touch. */
export type SimContext = {
  clock: Clock;
  log: Logger;
  creds: KiteSimCredentials;
  sessions: SessionStore;
  index: InstrumentIndex;
  market: Market;
  engine: OrderEngine;
  faults: FaultState;
  postbacks: PostbackSender;
  /** How the web login answers the TOTP step: JSON (then the login URL redirects) or a redirect at once. */
  webLoginAnswer: WebLoginAnswer;
  /** Called after setPrice so resting orders and subscribers see the move at once. */
  priceMoved(token: number): void;
};

/** Benchmarks and tests: told synchronously what crosses the wire, with performance.now() times. */
export type KiteSimObserver = {
  /** A binary frame of ticks was handed to a ticker socket. */
  tickFrameSent?(e: { tokens: readonly number[]; at: number }): void;
  /** A REST request arrived; `at` is when its handling began, reported once its body has been read. */
  requestReceived?(e: { method: string; path: string; body: Readonly<Record<string, unknown>>; at: number }): void;
  /** A REST answer was written (withheld answers are never reported). */
  responseSent?(e: { method: string; path: string; status: number }): void;
};
