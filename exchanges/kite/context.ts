import type { Clock } from '../../actors/clock.ts';
import type { Logger } from '../../actors/logger.ts';
import type { FaultState } from './faults.ts';
import type { InstrumentIndex } from './instruments.ts';
import type { Market } from './market.ts';
import type { OrderEngine } from './orders.ts';
import type { PostbackSender } from './postbacks.ts';
import type { KiteSimCredentials, SessionStore } from './sessions.ts';

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
  /** Called after setPrice so resting orders and subscribers see the move at once. */
  priceMoved(token: number): void;
};
