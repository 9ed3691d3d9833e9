import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../actors/clock.ts';
import { actorLogger } from '../../actors/logger.ts';
import { metrics } from '../../actors/metrics.ts';
import type { RateLimiter } from '../../broker/limiter/types.ts';
import type { KiteLimitFigures } from '../../broker/limiter/limits.ts';
import { KiteRestClient } from '../../broker/kite/rest-client.ts';
import { KiteRetry } from '../../broker/kite/retry.ts';
import { KiteOrderWriter } from '../../broker/kite/order-writer.ts';
import { KiteTickerClient } from '../../broker/kite/ticker-client.ts';
import { KiteAdapter } from '../../broker/kite/adapter.ts';
import { tickerPort } from '../../broker/kite/ticker-port.ts';
import { KiteSessionManager, nextKiteExpiry } from '../../broker/kite/session.ts';
import { startPostbackServer, type PostbackServer } from '../../broker/kite/postback.ts';
import { startKiteSim, type KiteSim, type KiteSimOptions } from '../../exchanges/kite/index.ts';
import type { TickMode } from '../../config/tick-mode.ts';

/** Where the Kite side points: a real account or the built-in exchange. */
export type KiteAccount = {
  root: string;
  wsUrl: string;
  apiKey: string;
  /** The token now, or undefined around the daily expiry. */
  accessToken: () => string | undefined;
  /** A valid token, waiting for a login if needed: requests wait instead of failing. */
  awaitAccessToken?: () => Promise<string>;
  reauthenticate: () => Promise<void>;
  /** Live accounts only: ticks come only while NSE trades. */
  marketHoursOnly: boolean;
  /** Verifies postbacks (checksum); absent = no postback endpoint. */
  apiSecret?: string;
  userId?: string;
  close?: () => void | Promise<void>;
};

export type KiteVenue = {
  adapter: KiteAdapter;
  sim: KiteSim | undefined;
  account: KiteAccount;
  /** Where Kite should POST order postbacks (paper: the simulator is pointed at it). */
  postbackUrl: string | undefined;
  close(): Promise<void>;
};

export type KiteEnv = Readonly<Record<string, string | undefined>>;

export type KiteVenueOptions = {
  clock: Clock;
  log: Logger;
  limiter: RateLimiter;
  /** An account built elsewhere; wins over `env`. */
  account?: KiteAccount;
  /**
   * Live credentials (KITE_API_KEY, KITE_API_SECRET, KITE_USER_ID, KITE_PASSWORD, KITE_TOTP_SECRET;
   * optional KITE_API_ROOT, KITE_LOGIN_ROOT, KITE_WS_URL), the postback endpoint
   * (KITE_POSTBACK_HOST, KITE_POSTBACK_PORT) and KITE_TICK_MODE. No credentials = paper trading.
   */
  env?: KiteEnv;
  /** The 0600 token cache lives here (live accounts). */
  stateDir?: string;
  sim?: { port?: number; seed?: number; tickIntervalMs?: number } & Pick<KiteSimOptions, 'enforceRateLimits' | 'observer' | 'rateLimits'>;
  /** When a live feed is expected to tick (NSE hours less the exchange's holidays); paper feeds always tick. */
  isMarketOpen?: (nowMs: number) => boolean;
  /** Every login outcome of a live account (the kill switch counts consecutive failures). */
  onLogin?: (ok: boolean, atMarketOpen?: boolean) => void;
};

export const KITE_CREDENTIAL_ENV = ['KITE_API_KEY', 'KITE_API_SECRET', 'KITE_USER_ID', 'KITE_PASSWORD', 'KITE_TOTP_SECRET'] as const;

export type KiteEnvSettings = {
  credentials: { apiKey: string; apiSecret: string; userId: string; password: string; totpSecret: string };
  apiRoot: string;
  loginRoot: string;
  wsUrl: string;
};

/** The live account named by `env`; undefined when none of its variables is set. A partial set is refused by name. */
export function kiteEnvSettings(env: KiteEnv): KiteEnvSettings | undefined {
  const present = KITE_CREDENTIAL_ENV.filter((k) => env[k]);
  if (present.length === 0) return undefined;
  const missing = KITE_CREDENTIAL_ENV.filter((k) => !env[k]);
  if (missing.length) throw new Error(`Kite live account: ${missing.join(', ')} not set (have ${present.join(', ')})`);
  return {
    credentials: { apiKey: env.KITE_API_KEY!, apiSecret: env.KITE_API_SECRET!, userId: env.KITE_USER_ID!, password: env.KITE_PASSWORD!, totpSecret: env.KITE_TOTP_SECRET! },
    apiRoot: env.KITE_API_ROOT ?? 'https://api.kite.trade',
    loginRoot: env.KITE_LOGIN_ROOT ?? 'https://kite.zerodha.com',
    wsUrl: env.KITE_WS_URL ?? 'wss://ws.kite.trade',
  };
}

/**
 * A live account on the session manager: full login with TOTP, token cached 0600 in
 * `cachePath`, renewed around 06:00 IST. Every login outcome is a metric: the expiry gauge on
 * success, orch_kite_login_failures_total{reason} on failure (the kill switch's re-auth trigger).
 */
export async function liveKiteAccount(o: { settings: KiteEnvSettings; clock: Clock; limiter: RateLimiter; log: Logger; cachePath?: string; onLogin?: (ok: boolean, atMarketOpen?: boolean) => void }): Promise<KiteAccount> {
  const s = o.settings;
  const session = new KiteSessionManager({
    credentials: s.credentials, apiRoot: s.apiRoot, loginRoot: s.loginRoot, clock: o.clock, limiter: o.limiter, logger: o.log,
    ...(o.cachePath ? { cachePath: o.cachePath } : {}),
    onLogin: (e) => {
      if (e.ok) metrics.kiteTokenExpiryTimestampSeconds.set(Math.floor(e.expiresAt / 1000));
      else metrics.kiteLoginFailuresTotal.inc({ reason: e.reason });
      o.onLogin?.(e.ok, !e.ok && e.atMarketOpen === true);
    },
  });
  await session.start();
  return {
    root: s.apiRoot, wsUrl: s.wsUrl, apiKey: s.credentials.apiKey,
    accessToken: () => session.currentAccessToken(),
    awaitAccessToken: () => session.getAccessToken(),
    reauthenticate: () => session.reauthenticate(),
    marketHoursOnly: true,
    apiSecret: s.credentials.apiSecret,
    userId: s.credentials.userId,
    close: () => session.stop(),
  };
}

/** The variables that override Kite's rate-limit figures (defaults: broker/limiter/limits.ts KITE_LIMIT_DEFAULTS). */
export const KITE_LIMIT_ENV = {
  KITE_ORDERS_PER_SECOND: 'ordersPerSecond',
  KITE_ORDERS_PER_MINUTE: 'ordersPerMinute',
  KITE_ORDERS_PER_DAY: 'ordersPerDay',
  KITE_MODIFY_PER_SECOND: 'modifyPerSecond',
  KITE_OTHER_PER_SECOND: 'otherPerSecond',
} as const satisfies Record<string, keyof KiteLimitFigures>;

/**
 * Kite counts arrivals per calendar second; we count departures. Network jitter up to this
 * many milliseconds cannot put an 11th order into one of Kite's seconds (it costs 5 % of the rate).
 */
export const KITE_DEFAULT_GUARD_MS = 50;

export type KiteLimitSettings = Partial<KiteLimitFigures> & { guardMs: number };

/** Kite's rate-limit figures from KITE_* variables; an unset one keeps the strictest documented default. */
export function kiteLimitSettings(env: KiteEnv): KiteLimitSettings {
  const out: KiteLimitSettings = { guardMs: KITE_DEFAULT_GUARD_MS };
  for (const [key, field] of Object.entries(KITE_LIMIT_ENV)) {
    const v = env[key];
    if (v === undefined || v === '') continue;
    if (!/^[1-9]\d{0,6}$/.test(v)) throw new Error(`${key}: expected a positive whole number, got ${JSON.stringify(v)}`);
    out[field] = Number(v);
  }
  const guard = env.KITE_LIMIT_GUARD_MS;
  if (guard !== undefined && guard !== '') {
    if (!/^\d{1,3}$/.test(guard)) throw new Error(`KITE_LIMIT_GUARD_MS: expected milliseconds 0-999, got ${JSON.stringify(guard)}`);
    out.guardMs = Number(guard);
  }
  return out;
}

function intEnv(env: KiteEnv, key: string): number | undefined {
  const v = env[key];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new Error(`${key}: expected a port number, got ${JSON.stringify(v)}`);
  return Number(v);
}

function tickModeEnv(env: KiteEnv): TickMode | undefined {
  const v = env.KITE_TICK_MODE;
  if (v === undefined || v === '') return undefined;
  if (v !== 'ltp' && v !== 'quote' && v !== 'full') throw new Error(`KITE_TICK_MODE: expected ltp, quote or full, got ${JSON.stringify(v)}`);
  return v;
}

export async function buildKiteVenue(o: KiteVenueOptions): Promise<KiteVenue> {
  const env = o.env ?? {};
  const undo: (() => void | Promise<void>)[] = [];
  const close = async () => {
    for (const f of undo.reverse()) await f();
  };
  try {
    let sim: KiteSim | undefined;
    let account = o.account;
    const settings = account ? undefined : kiteEnvSettings(env);
    if (settings) {
      account = await liveKiteAccount({ settings, clock: o.clock, limiter: o.limiter, log: o.log, ...(o.onLogin ? { onLogin: o.onLogin } : {}), ...(o.stateDir ? { cachePath: join(o.stateDir, 'kite-token.json') } : {}) });
      o.log.info({ rest: settings.apiRoot, ws: settings.wsUrl, userId: settings.credentials.userId }, 'live Kite account');
    } else if (!account) {
      const s = await startKiteSim({
        port: o.sim?.port ?? 0, seed: o.sim?.seed ?? 42, tickIntervalMs: o.sim?.tickIntervalMs ?? 500, clock: o.clock, logger: actorLogger(o.log, 'sim:kite'),
        ...(o.sim?.enforceRateLimits !== undefined ? { enforceRateLimits: o.sim.enforceRateLimits } : {}),
        ...(o.sim?.observer ? { observer: o.sim.observer } : {}),
        ...(o.sim?.rateLimits ? { rateLimits: o.sim.rateLimits } : {}),
      });
      sim = s;
      undo.push(() => s.close());
      const issue = () => {
        metrics.kiteTokenExpiryTimestampSeconds.set(Math.floor(nextKiteExpiry(o.clock.now()) / 1000));
        return s.issueAccessToken();
      };
      let token = issue();
      account = {
        root: s.restUrl, wsUrl: s.wsUrl, apiKey: s.credentials.apiKey, accessToken: () => token,
        reauthenticate: async () => { token = issue(); },
        marketHoursOnly: false, apiSecret: s.credentials.apiSecret, userId: s.credentials.userId,
      };
      o.log.info({ rest: s.restUrl, ws: s.wsUrl }, 'paper trading on the built-in Kite exchange');
    }
    const acct = account!;
    if (acct.close) undo.push(acct.close);
    const log = o.log;
    const rest = new KiteRestClient({
      root: acct.root, apiKey: acct.apiKey, getAccessToken: acct.accessToken, limiter: o.limiter, clock: o.clock, logger: log,
      ...(acct.awaitAccessToken ? { awaitAccessToken: acct.awaitAccessToken } : {}),
    });
    const retry = new KiteRetry({ clock: o.clock, reauthenticate: acct.reauthenticate, logger: log });
    const writer = new KiteOrderWriter(rest, retry);
    const wsToken = acct.awaitAccessToken ?? (() => acct.accessToken() ?? '');
    const ticker = new KiteTickerClient({
      url: acct.wsUrl, apiKey: acct.apiKey, getAccessToken: wsToken, reauthenticate: acct.reauthenticate, clock: o.clock, logger: log,
      ...(acct.marketHoursOnly ? (o.isMarketOpen ? { isMarketOpen: o.isMarketOpen } : {}) : { isMarketOpen: () => true }),
    });
    const tickMode = tickModeEnv(env);
    const adapter = new KiteAdapter({ rest, writer, retry, ticker: tickerPort(ticker, o.clock), clock: o.clock, log, ...(tickMode ? { tickMode } : {}) });

    // Paper: always, on a free local port, with the simulator pointed at it. Live: when a port is configured.
    let postback: PostbackServer | undefined;
    const port = intEnv(env, 'KITE_POSTBACK_PORT') ?? (sim ? 0 : undefined);
    if (port !== undefined && acct.apiSecret) {
      postback = await startPostbackServer({
        host: env.KITE_POSTBACK_HOST || '127.0.0.1', port, apiSecret: acct.apiSecret, ...(acct.userId ? { userId: acct.userId } : {}),
        onOrder: (order) => void adapter.ingest(order, 'postback'), log: actorLogger(o.log, 'kite:postback'),
      });
      const pb = postback;
      undo.push(() => pb.close());
      sim?.setPostbackUrl(pb.url);
      log.info({ url: pb.url }, 'kite postback endpoint listening');
    }
    return { adapter, sim, account: acct, postbackUrl: postback?.url, close };
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
}
