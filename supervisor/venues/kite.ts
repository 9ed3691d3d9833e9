import type { Logger } from 'pino';
import type { Clock } from '../../actors/clock.ts';
import { actorLogger } from '../../actors/logger.ts';
import type { RateLimiter } from '../../broker/limiter/types.ts';
import { KiteRestClient } from '../../broker/kite/rest-client.ts';
import { KiteRetry } from '../../broker/kite/retry.ts';
import { KiteOrderWriter } from '../../broker/kite/order-writer.ts';
import { KiteTickerClient } from '../../broker/kite/ticker-client.ts';
import { KiteAdapter } from '../../broker/kite/adapter.ts';
import { tickerPort } from '../../broker/kite/ticker-port.ts';
import { startKiteSim, type KiteSim } from '../../broker/sim/kite/index.ts';

/** Where the Kite side points: a real account or the built-in exchange. */
export type KiteAccount = {
  root: string;
  wsUrl: string;
  apiKey: string;
  accessToken: () => string;
  reauthenticate: () => Promise<void>;
  /** Live accounts only: ticks come only while NSE trades. */
  marketHoursOnly: boolean;
};

export type KiteVenue = { adapter: KiteAdapter; sim: KiteSim | undefined; account: KiteAccount; close(): Promise<void> };

export type KiteVenueOptions = {
  clock: Clock;
  log: Logger;
  limiter: RateLimiter;
  /** Absent = start the built-in exchange (paper trading). */
  account?: KiteAccount;
  sim?: { port?: number; seed?: number; tickIntervalMs?: number };
};

export async function buildKiteVenue(o: KiteVenueOptions): Promise<KiteVenue> {
  let sim: KiteSim | undefined;
  let account = o.account;
  if (!account) {
    sim = await startKiteSim({ port: o.sim?.port ?? 0, seed: o.sim?.seed ?? 42, tickIntervalMs: o.sim?.tickIntervalMs ?? 500, clock: o.clock, logger: actorLogger(o.log, 'sim:kite') });
    let token = sim.issueAccessToken();
    const s = sim;
    account = {
      root: s.restUrl, wsUrl: s.wsUrl, apiKey: s.credentials.apiKey, accessToken: () => token,
      reauthenticate: async () => { token = s.issueAccessToken(); },
      marketHoursOnly: false,
    };
    o.log.info({ rest: s.restUrl, ws: s.wsUrl }, 'paper trading on the built-in Kite exchange');
  }
  const log = o.log;
  const acct = account;
  const rest = new KiteRestClient({ root: acct.root, apiKey: acct.apiKey, getAccessToken: acct.accessToken, limiter: o.limiter, clock: o.clock, logger: log });
  const retry = new KiteRetry({ clock: o.clock, reauthenticate: acct.reauthenticate, logger: log });
  const writer = new KiteOrderWriter(rest, retry);
  const ticker = new KiteTickerClient({
    url: acct.wsUrl, apiKey: acct.apiKey, getAccessToken: acct.accessToken, clock: o.clock, logger: log,
    ...(acct.marketHoursOnly ? {} : { isMarketOpen: () => true }),
  });
  const adapter = new KiteAdapter({ rest, writer, ticker: tickerPort(ticker, o.clock), clock: o.clock, log });
  return { adapter, sim, account: acct, close: async () => { await sim?.close(); } };
}
