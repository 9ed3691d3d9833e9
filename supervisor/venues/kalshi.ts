import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../actors/clock.ts';
import { actorLogger } from '../../actors/logger.ts';
import type { RateLimiter } from '../../broker/limiter/types.ts';
import { KALSHI_TIERS, type KalshiTier } from '../../broker/limiter/limits.ts';
import { KalshiVenue } from '../../broker/kalshi/index.ts';
import { KalshiAdapter, kalshiPort } from '../../broker/kalshi/adapter.ts';
import type { PrivateKeySource } from '../../broker/kalshi/signing.ts';
import { startKalshiSim, type KalshiSim } from '../../exchanges/kalshi/index.ts';
import { startMarketFlow } from '../../exchanges/kalshi/flow.ts';
import { SupervisorError } from '../errors.ts';

/** Kalshi production (docs.kalshi.com, "API Environments"): the dedicated Trade API hosts. */
export const KALSHI_PROD_REST = 'https://external-api.kalshi.com/trade-api/v2';
export const KALSHI_PROD_WS = 'wss://external-api-ws.kalshi.com/trade-api/ws/v2';

/** Where the Kalshi side points: a real account or the built-in exchange. */
export type KalshiAccount = {
  restUrl: string;
  wsUrl: string;
  keyId: string;
  /** A file path or an env var name, or the key already loaded; the PEM itself never passes through config or logs. */
  privateKey: PrivateKeySource | KeyObject;
  tier: KalshiTier;
};

export class KalshiEnvError extends SupervisorError {
  override name = 'KalshiEnvError';
  constructor(message: string) {
    super('kalshi_env', message);
  }
}

/**
 * A live account from the environment: KALSHI_KEY_ID plus KALSHI_PRIVATE_KEY_PATH (a PEM file)
 * or KALSHI_PRIVATE_KEY (the PEM text); optional KALSHI_REST_URL, KALSHI_WS_URL (default
 * production) and KALSHI_TIER (default basic; only the fallback when the account's own limits
 * cannot be read at start). Undefined when KALSHI_KEY_ID is unset (paper).
 */
export function kalshiAccountFromEnv(env: NodeJS.ProcessEnv): KalshiAccount | undefined {
  const keyId = env.KALSHI_KEY_ID?.trim();
  if (!keyId) return undefined;
  let privateKey: PrivateKeySource;
  if (env.KALSHI_PRIVATE_KEY_PATH?.trim()) privateKey = { path: env.KALSHI_PRIVATE_KEY_PATH.trim() };
  else if (env.KALSHI_PRIVATE_KEY?.trim()) privateKey = { env: 'KALSHI_PRIVATE_KEY' };
  else throw new KalshiEnvError('KALSHI_KEY_ID is set but neither KALSHI_PRIVATE_KEY_PATH nor KALSHI_PRIVATE_KEY is');
  const tier = (env.KALSHI_TIER?.trim() || 'basic') as KalshiTier;
  if (!KALSHI_TIERS.includes(tier)) throw new KalshiEnvError(`KALSHI_TIER must be one of ${KALSHI_TIERS.join(', ')}, got ${JSON.stringify(env.KALSHI_TIER)}`);
  return { keyId, privateKey, tier, restUrl: env.KALSHI_REST_URL?.trim() || KALSHI_PROD_REST, wsUrl: env.KALSHI_WS_URL?.trim() || KALSHI_PROD_WS };
}

export type KalshiVenueBuild = { adapter: KalshiAdapter; sim: KalshiSim | undefined; account: KalshiAccount; close(): Promise<void> };

export type KalshiVenueOptions = {
  clock: Clock;
  log: Logger;
  limiter: RateLimiter;
  /** Absent = start the built-in exchange (paper trading) with a key generated for this run. */
  account?: KalshiAccount;
  sim?: {
    port?: number;
    seed?: number;
    /** Background market activity so resting orders fill; false = a still market (tests). */
    flowIntervalMs?: number | false;
    /** Markets the background activity animates (default all). */
    flowMarkets?: readonly string[];
  };
};

export async function buildKalshiVenue(o: KalshiVenueOptions): Promise<KalshiVenueBuild> {
  let sim: KalshiSim | undefined;
  let stopFlow = () => {};
  let account = o.account;
  if (!account) {
    // The sim writes its demo key (mode 0600) to a fresh temp dir and removes it at close.
    sim = await startKalshiSim({ port: o.sim?.port ?? 0, seed: o.sim?.seed ?? 42, clock: o.clock, tier: 'basic' });
    account = { restUrl: sim.restUrl, wsUrl: sim.wsUrl, keyId: sim.keyId, privateKey: { path: sim.privateKeyPath }, tier: 'basic' };
    const every = o.sim?.flowIntervalMs ?? 1000;
    if (every !== false) {
      stopFlow = startMarketFlow(sim.engine, { clock: o.clock, seed: o.sim?.seed ?? 42, intervalMs: every, ...(o.sim?.flowMarkets ? { markets: o.sim.flowMarkets } : {}) }).stop;
    }
    o.log.info({ rest: sim.restUrl, ws: sim.wsUrl, markets: sim.markets }, 'paper trading on the built-in Kalshi exchange');
  }
  const venue = new KalshiVenue({
    restUrl: account.restUrl, wsUrl: account.wsUrl, keyId: account.keyId, privateKey: account.privateKey,
    limiter: o.limiter, logger: actorLogger(o.log, 'kalshi'), clock: o.clock,
  });
  const adapter = new KalshiAdapter({ port: kalshiPort(venue), clock: o.clock, log: o.log });
  const s = sim;
  return {
    adapter, sim, account,
    close: async () => {
      stopFlow();
      await s?.close();
    },
  };
}
