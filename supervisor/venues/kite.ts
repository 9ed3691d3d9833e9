import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
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
import { KiteSessionManager, nextKiteExpiry, type WebLoginCredentials } from '../../broker/kite/session.ts';
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

/** The token file's name in the state directory: `orch login kite` writes it, `orch start` reads it. */
export const KITE_TOKEN_FILE = 'kite-token.json';

export type KiteVenueOptions = {
  clock: Clock;
  log: Logger;
  limiter: RateLimiter;
  /** An account built elsewhere; wins over `env`. */
  account?: KiteAccount;
  /**
   * Live credentials (KITE_API_KEY, KITE_API_SECRET, optional KITE_USER_ID; the opt-in web login's
   * KITE_AUTO_LOGIN=totp, KITE_PASSWORD, KITE_TOTP_SECRET; optional KITE_API_ROOT, KITE_LOGIN_ROOT,
   * KITE_WS_URL: kiteEnvSettings), the postback endpoint
   * (KITE_POSTBACK_HOST, KITE_POSTBACK_PORT) and KITE_TICK_MODE. No credentials = paper trading.
   */
  env?: KiteEnv;
  /** The 0600 token file (`orch login kite` writes it) lives here (live accounts); default ./.orch. */
  stateDir?: string;
  sim?: { port?: number; seed?: number; tickIntervalMs?: number } & Pick<KiteSimOptions, 'enforceRateLimits' | 'observer' | 'rateLimits'>;
  /** When a live feed is expected to tick (NSE hours less the exchange's holidays); paper feeds always tick. */
  isMarketOpen?: (nowMs: number) => boolean;
  /** Every login outcome of a live account (the kill switch counts consecutive failures). */
  onLogin?: (ok: boolean, atMarketOpen?: boolean) => void;
};

/** The live account's variables: any of them set means a live Kite account (none = paper trading). */
export const KITE_CREDENTIAL_ENV = ['KITE_API_KEY', 'KITE_API_SECRET', 'KITE_USER_ID', 'KITE_PASSWORD', 'KITE_TOTP_SECRET', 'KITE_AUTO_LOGIN'] as const;
/** What the unofficial automated web login needs besides the app's key and secret. */
const WEB_LOGIN_ENV = ['KITE_USER_ID', 'KITE_PASSWORD', 'KITE_TOTP_SECRET'] as const;

export type KiteEnvSettings = {
  apiKey: string;
  apiSecret: string;
  /** When set, the stored token must be this user's. */
  userId: string | undefined;
  /** The UNOFFICIAL automated web login (KITE_AUTO_LOGIN=totp); undefined = Kite's official login (`orch login kite`). */
  webLogin: WebLoginCredentials | undefined;
  apiRoot: string;
  loginRoot: string;
  wsUrl: string;
};

/** An unset variable and an empty one are the same thing. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());
const KiteEnvSchema = z.object({
  KITE_API_KEY: optional(z.string()),
  KITE_API_SECRET: optional(z.string()),
  KITE_USER_ID: optional(z.string()),
  KITE_PASSWORD: optional(z.string()),
  KITE_TOTP_SECRET: optional(z.string()),
  // The automated web login is unofficial and against Kite's advice: it runs only when asked for by name.
  KITE_AUTO_LOGIN: optional(z.enum(['totp'], { error: (iss) => `expected "totp" (the unofficial automated web login) or unset (Kite's official login, \`orch login kite\`), got ${JSON.stringify(iss.input)}` })),
  KITE_API_ROOT: optional(z.url({ protocol: /^https?$/ })),
  KITE_LOGIN_ROOT: optional(z.url({ protocol: /^https?$/ })),
  KITE_WS_URL: optional(z.url({ protocol: /^wss?$/ })),
}).superRefine((e, ctx) => {
  const missing = (keys: readonly (keyof typeof e)[]) => keys.filter((k) => !e[k]);
  const req = missing(['KITE_API_KEY', 'KITE_API_SECRET']);
  if (req.length) ctx.addIssue({ code: 'custom', path: [req[0]!], message: `${req.join(', ')} not set: a live Kite account needs the app's KITE_API_KEY and KITE_API_SECRET` });
  if (e.KITE_AUTO_LOGIN === 'totp') {
    const need = missing(WEB_LOGIN_ENV);
    if (need.length) ctx.addIssue({ code: 'custom', path: [need[0]!], message: `KITE_AUTO_LOGIN=totp needs ${WEB_LOGIN_ENV.join(', ')}; not set: ${need.join(', ')}` });
  } else {
    const stray = (['KITE_PASSWORD', 'KITE_TOTP_SECRET'] as const).filter((k) => e[k]);
    if (stray.length) {
      ctx.addIssue({
        code: 'custom', path: [stray[0]!],
        message: `${stray.join(', ')} set, but KITE_AUTO_LOGIN is not "totp": the automated web login is unofficial and off unless opted into (docs/venues/kite.md, "Session"). Unset ${stray.length > 1 ? 'them' : 'it'} and run \`orch login kite\`, or set KITE_AUTO_LOGIN=totp`,
      });
    }
  }
});

/**
 * The live account named by `env`; undefined when none of its variables is set. Validated
 * completely: a bad or partial set is refused by variable name, never by a secret's value.
 * KITE_API_KEY + KITE_API_SECRET alone are a live account on Kite's official login: the token
 * comes from `orch login kite`. KITE_AUTO_LOGIN=totp (with KITE_USER_ID, KITE_PASSWORD,
 * KITE_TOTP_SECRET) opts into the unofficial automated web login instead.
 */
export function kiteEnvSettings(env: KiteEnv): KiteEnvSettings | undefined {
  if (!KITE_CREDENTIAL_ENV.some((k) => env[k])) return undefined;
  const r = KiteEnvSchema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => (i.code === 'custom' ? i.message : `${i.path.join('.')}: ${i.message}`));
    throw new Error(`Kite live account: ${lines.join('; ')}`);
  }
  const e = r.data;
  return {
    apiKey: e.KITE_API_KEY!, apiSecret: e.KITE_API_SECRET!, userId: e.KITE_USER_ID,
    webLogin: e.KITE_AUTO_LOGIN === 'totp' ? { userId: e.KITE_USER_ID!, password: e.KITE_PASSWORD!, totpSecret: e.KITE_TOTP_SECRET! } : undefined,
    apiRoot: e.KITE_API_ROOT ?? 'https://api.kite.trade',
    loginRoot: e.KITE_LOGIN_ROOT ?? 'https://kite.zerodha.com',
    wsUrl: e.KITE_WS_URL ?? 'wss://ws.kite.trade',
  };
}

/**
 * A live account on the session manager. Official flow (default): the token `orch login kite`
 * stored 0600 in `cachePath`; none valid = start refuses, saying to run it. Opt-in web login:
 * TOTP login, token cached there. Renewed after 06:00 IST either way. Every outcome is a metric:
 * the expiry gauge on success, orch_kite_login_failures_total{reason} on failure. Failures reach
 * the kill switch's re-auth trigger, except the official flow's wait for the operator's login,
 * which is an alert until the market opens and a failed re-auth from then on.
 */
export async function liveKiteAccount(o: { settings: KiteEnvSettings; clock: Clock; limiter: RateLimiter; log: Logger; cachePath: string; onLogin?: (ok: boolean, atMarketOpen?: boolean) => void }): Promise<KiteAccount> {
  const s = o.settings;
  const session = new KiteSessionManager({
    credentials: { apiKey: s.apiKey, apiSecret: s.apiSecret, ...(s.userId ? { userId: s.userId } : {}) },
    ...(s.webLogin ? { webLogin: s.webLogin } : {}),
    apiRoot: s.apiRoot, loginRoot: s.loginRoot, clock: o.clock, limiter: o.limiter, logger: o.log, cachePath: o.cachePath,
    onLogin: (e) => {
      if (e.ok) metrics.kiteTokenExpiryTimestampSeconds.set(Math.floor(e.expiresAt / 1000));
      else metrics.kiteLoginFailuresTotal.inc({ reason: e.reason });
      if (!e.ok && e.awaitingLogin && !e.atMarketOpen) return;
      o.onLogin?.(e.ok, !e.ok && e.atMarketOpen === true);
    },
  });
  await session.start();
  return {
    root: s.apiRoot, wsUrl: s.wsUrl, apiKey: s.apiKey,
    accessToken: () => session.currentAccessToken(),
    awaitAccessToken: () => session.getAccessToken(),
    reauthenticate: () => session.reauthenticate(),
    marketHoursOnly: true,
    apiSecret: s.apiSecret,
    // Without KITE_USER_ID the account is the stored token's (postbacks for another user are refused).
    ...(session.accountUserId() ? { userId: session.accountUserId() } : {}),
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

/**
 * Where the Kite postback listener binds when KITE_POSTBACK_PORT is set (KITE_POSTBACK_HOST,
 * default 127.0.0.1); undefined when it is not: a free port on paper, no listener live.
 */
export function kitePostbackBinding(env: KiteEnv): { host: string; port: number } | undefined {
  const port = intEnv(env, 'KITE_POSTBACK_PORT');
  return port === undefined ? undefined : { host: env.KITE_POSTBACK_HOST || '127.0.0.1', port };
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
      const cachePath = join(o.stateDir ?? join(process.cwd(), '.orch'), KITE_TOKEN_FILE);
      account = await liveKiteAccount({ settings, clock: o.clock, limiter: o.limiter, log: o.log, cachePath, ...(o.onLogin ? { onLogin: o.onLogin } : {}) });
      o.log.info({ rest: settings.apiRoot, ws: settings.wsUrl, userId: account.userId, login: settings.webLogin ? 'web login (unofficial, KITE_AUTO_LOGIN=totp)' : 'official (orch login kite)' }, 'live Kite account');
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
    const binding = kitePostbackBinding(env) ?? (sim ? { host: '127.0.0.1', port: 0 } : undefined);
    if (binding !== undefined && acct.apiSecret) {
      postback = await startPostbackServer({
        host: binding.host, port: binding.port, apiSecret: acct.apiSecret, ...(acct.userId ? { userId: acct.userId } : {}),
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
