import type { Clock, TimerHandle } from '../../actors/clock.ts';
import { registerSecret, type Logger } from '../../actors/logger.ts';
import type { RateLimiter } from '../limiter/types.ts';
import { VenueError } from '../venue-errors.ts';
import { venueError } from './errors.ts';
import { IST_OFFSET_MS } from './market-hours.ts';
import { KiteRestClient } from './rest-client.ts';
import { readTokenFile, writeTokenFile, type TokenRecord } from './token-file.ts';
import { webLoginRequestToken, type WebLoginCredentials } from './web-login.ts';

export type { TokenRecord } from './token-file.ts';
export type { WebLoginCredentials } from './web-login.ts';

/**
 * Owns the day's Kite access token, in one of two modes (docs/venues/kite.md, "Session"):
 * - official (the default): the token comes only from the 0600 file `orch login kite` writes.
 *   Nothing here logs in; once the token is dead (06:00 IST, or Kite refuses it) the file is
 *   read again every `pollMs` until the operator has logged in, and each miss says to run
 *   `orch login kite`.
 * - web login (KITE_AUTO_LOGIN=totp, unofficial): the automated password → TOTP login
 *   (web-login.ts), its token cached in the same file.
 * Either way: renewal just after the 06:00 IST expiry, never before it; single-flight
 * re-authentication when Kite says TokenException; and at 09:15 IST with no valid token the
 * re-auth failure is reported at once (`atMarketOpen`).
 * No secret (api_secret, password, TOTP secret or code, tokens) is ever logged or put in an error.
 */

export type KiteCredentials = { apiKey: string; apiSecret: string; userId?: string };

export type KiteSessionOptions = {
  credentials: KiteCredentials;
  /** The UNOFFICIAL automated web login; absent = the official flow (tokens only from `cachePath`). */
  webLogin?: WebLoginCredentials;
  /** REST root for /session/token (https://api.kite.trade or sim.restUrl). */
  apiRoot: string;
  /** Root of the login pages (https://kite.zerodha.com or sim.restUrl); the web login only. */
  loginRoot?: string;
  clock: Clock;
  limiter: RateLimiter;
  /** The 0600 token file (`orch login kite` writes it); required by the official flow, a cache for the web login. */
  cachePath?: string;
  /** A TokenException within this long after a refresh is not a reason for another login. */
  freshForMs?: number;
  /** How soon a failed renewal is tried again (the official flow: how often the file is read again). Default 60 s. */
  retryMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  logger?: Logger;
  /** Every login's outcome, for metrics and the failed re-auth kill trigger. Never sees a secret. */
  onLogin?: (e: LoginEvent) => void;
};

export type LoginEvent =
  | { ok: true; reason: string; expiresAt: number }
  /**
   * `atMarketOpen`: the market opened (09:15 IST) with no valid token: the re-auth alert and kill
   * trigger fire at once. `awaitingLogin`: the official flow has no valid token and waits for the
   * operator's `orch login kite`; until the market opens that is an alert, not a failed re-auth.
   */
  | { ok: false; reason: string; kind: string; message: string; atMarketOpen?: boolean; awaitingLogin?: boolean };

/** What the operator is told whenever the official flow has no valid token. */
export const RUN_ORCH_LOGIN = 'run `orch login kite` (Kite\'s official login) to store a new one';

/** The next 09:15 IST (NSE's open) strictly after `nowMs`. */
export function nextMarketOpen(nowMs: number): number {
  const istMidnight = Math.floor((nowMs + IST_OFFSET_MS) / DAY_MS) * DAY_MS;
  let at = istMidnight + (9 * 60 + 15) * 60_000 - IST_OFFSET_MS;
  if (at <= nowMs) at += DAY_MS;
  return at;
}

const DAY_MS = 24 * 60 * 60_000;

/** The first 06:00 IST strictly after `nowMs`: when a token minted at `nowMs` dies. */
export function nextKiteExpiry(nowMs: number): number {
  const istMidnight = Math.floor((nowMs + IST_OFFSET_MS) / DAY_MS) * DAY_MS;
  let at = istMidnight + 6 * 60 * 60_000 - IST_OFFSET_MS;
  if (at <= nowMs) at += DAY_MS;
  return at;
}

/**
 * When to log in again for a token expiring at `expiresAt`, seen at `nowMs`: just after the
 * expiry, never before it. Every token dies at the next 06:00 IST, so a login at 05:50 would
 * mint one that dies ten minutes later (docs/venues/kite.md, "Session"); between 06:00 and the
 * renewal, requests wait for the fresh token (`getAccessToken`).
 */
export function refreshAt(nowMs: number, expiresAt: number): number {
  return Math.max(nowMs, expiresAt + 1_000);
}

export class KiteSessionManager {
  private current: TokenRecord | undefined;
  /** The official flow: the token Kite last refused, never taken from the file again. */
  private refused: string | undefined;
  private inflight: Promise<TokenRecord> | undefined;
  private lastRefreshAt = -Infinity;
  private timer: TimerHandle | undefined;
  private openCheck: TimerHandle | undefined;
  private stopped = false;
  private readonly rest: KiteRestClient;
  private readonly userId: string | undefined;

  constructor(private readonly o: KiteSessionOptions) {
    for (const k of ['apiKey', 'apiSecret'] as const) {
      if (!o.credentials[k]) throw new Error(`KiteSessionManager: credentials.${k} is required`);
    }
    registerSecret(o.credentials.apiSecret);
    if (o.webLogin) {
      for (const k of ['userId', 'password', 'totpSecret'] as const) {
        if (!o.webLogin[k]) throw new Error(`KiteSessionManager: webLogin.${k} is required`);
      }
      if (!o.loginRoot) throw new Error('KiteSessionManager: loginRoot is required by the web login');
      if (o.credentials.userId && o.credentials.userId !== o.webLogin.userId) throw new Error('KiteSessionManager: credentials.userId and webLogin.userId differ');
      registerSecret(o.webLogin.password);
      registerSecret(o.webLogin.totpSecret);
    } else if (!o.cachePath) {
      throw new Error('KiteSessionManager: the official flow reads its token from cachePath, which is required');
    }
    this.userId = o.webLogin?.userId ?? o.credentials.userId;
    this.rest = new KiteRestClient({
      root: o.apiRoot, apiKey: o.credentials.apiKey, getAccessToken: () => this.current?.accessToken, limiter: o.limiter, clock: o.clock,
      ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}), ...(o.fetch ? { fetch: o.fetch } : {}), ...(o.logger ? { logger: o.logger } : {}),
    });
  }

  /** The official flow (no automated login). */
  get official(): boolean {
    return this.o.webLogin === undefined;
  }

  /**
   * Takes a valid stored token, or (web login only) logs in; then keeps the token fresh. The
   * official flow with no valid stored token refuses to start, saying to run `orch login kite`.
   */
  async start(): Promise<void> {
    this.stopped = false;
    this.scheduleOpenCheck();
    const stored = await this.readStored();
    if (stored.ok) {
      this.adopt(stored.rec, 'cache');
      this.o.logger?.info({ userId: stored.rec.userId, expiresAt: new Date(stored.rec.expiresAt).toISOString() }, 'kite session restored from the token file');
      return;
    }
    if (this.o.webLogin && stored.why !== 'missing') this.o.logger?.warn({ path: this.o.cachePath, why: stored.why }, `kite token file not used (${stored.detail}): logging in afresh`);
    try {
      await this.refresh('start');
    } catch (e) {
      // A session that failed to start keeps no timer: the 09:15 check would hold the process open for hours.
      this.stop();
      throw e;
    }
  }

  stop(): void {
    this.stopped = true;
    this.o.clock.clearTimeout(this.timer);
    this.o.clock.clearTimeout(this.openCheck);
  }

  /**
   * Every day at 09:15 IST: with no valid token the market opens without us, which the re-auth
   * alert and kill trigger must hear at once (not after three more failed logins). The official
   * flow reads the file once more first: the operator may have just logged in.
   */
  private scheduleOpenCheck(): void {
    this.o.clock.clearTimeout(this.openCheck);
    if (this.stopped) return;
    const now = this.o.clock.now();
    this.openCheck = this.o.clock.setTimeout(() => {
      void (async () => {
        if (!this.currentAccessToken() && this.official) {
          const stored = await this.readStored();
          if (stored.ok && !this.currentAccessToken()) this.adopt(stored.rec, 'market_open');
        }
        if (!this.currentAccessToken()) {
          const message = this.official
            ? `no valid Kite access token at market open (09:15 IST): ${RUN_ORCH_LOGIN}`
            : 'no valid Kite access token at market open (09:15 IST)';
          this.o.logger?.error({ userId: this.userId }, message);
          this.o.onLogin?.({ ok: false, reason: 'market_open', kind: 'TokenException', message, atMarketOpen: true, ...(this.official ? { awaitingLogin: true } : {}) });
        }
        this.scheduleOpenCheck();
      })();
    }, nextMarketOpen(now) - now);
  }

  /** The account the session is for: the configured user, or the stored token's. */
  accountUserId(): string | undefined {
    return this.userId ?? this.current?.userId;
  }

  /** For synchronous callers (the REST client's auth header): undefined once expired. */
  currentAccessToken(): string | undefined {
    const c = this.current;
    return c && c.expiresAt > this.o.clock.now() ? c.accessToken : undefined;
  }

  /** A valid token, logging in (official: reading the file) first if needed; concurrent callers share one attempt. */
  async getAccessToken(): Promise<string> {
    return this.currentAccessToken() ?? (await this.refresh('expired')).accessToken;
  }

  /**
   * Kite said TokenException. Callers that raced the same expiry share one login, and a caller
   * whose request went out just before a refresh does not trigger a second one. In the official
   * flow the refused token is dead for good: only a new one from `orch login kite` replaces it.
   */
  async reauthenticate(): Promise<void> {
    if (this.inflight) {
      await this.inflight;
      return;
    }
    if (this.o.clock.now() - this.lastRefreshAt < (this.o.freshForMs ?? 30_000) && this.currentAccessToken()) return;
    if (this.official && this.current) {
      this.refused = this.current.accessToken;
      this.current = undefined;
    }
    await this.refresh('token_exception');
  }

  private adopt(rec: TokenRecord, reason: string): void {
    this.current = rec;
    registerSecret(rec.accessToken);
    this.lastRefreshAt = this.o.clock.now();
    this.schedule(rec);
    this.o.onLogin?.({ ok: true, reason, expiresAt: rec.expiresAt });
  }

  private refresh(reason: string): Promise<TokenRecord> {
    if (this.inflight) return this.inflight;
    this.o.logger?.info({ userId: this.userId, reason, flow: this.official ? 'official: the token file of orch login kite' : 'unofficial web login (KITE_AUTO_LOGIN=totp)' }, this.official ? 'kite: reading the token file' : 'kite login');
    this.inflight = this.obtain()
      .then(async (rec) => {
        if (this.o.webLogin) await this.writeStored(rec);
        this.adopt(rec, reason);
        this.o.logger?.info({ userId: rec.userId, expiresAt: new Date(rec.expiresAt).toISOString() }, 'kite session ready');
        return rec;
      }, (err: unknown) => {
        const kind = err instanceof VenueError ? err.kind : 'unexpected';
        const message = err instanceof Error ? err.message : String(err);
        this.o.logger?.error({ userId: this.userId, reason, kind, error: message }, this.official ? 'no valid kite access token' : 'kite login failed');
        this.o.onLogin?.({ ok: false, reason, kind, message, ...(this.official ? { awaitingLogin: true } : {}) });
        // Try again shortly rather than let the token lapse silently (not at start: start fails).
        if (reason !== 'start') this.retryLater();
        throw err;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  private retryLater(): void {
    this.o.clock.clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.refresh('scheduled').catch(() => undefined); // logged and reported by refresh
    }, this.o.retryMs ?? 60_000);
  }

  private schedule(rec: TokenRecord): void {
    this.o.clock.clearTimeout(this.timer);
    if (this.stopped) return;
    const now = this.o.clock.now();
    this.timer = this.o.clock.setTimeout(() => {
      this.refresh('scheduled').catch(() => undefined); // logged, reported and retried by refresh
    }, refreshAt(now, rec.expiresAt) - now);
  }

  /** A new token: from the file (official) or from the web login. */
  private async obtain(): Promise<TokenRecord> {
    if (!this.o.webLogin) {
      const stored = await this.readStored();
      if (stored.ok) return stored.rec;
      throw venueError('TokenException', `Kite: no valid access token (${stored.detail}): ${RUN_ORCH_LOGIN}`);
    }
    const requestToken = await webLoginRequestToken({
      loginRoot: this.o.loginRoot!, apiKey: this.o.credentials.apiKey, credentials: this.o.webLogin, clock: this.o.clock,
      ...(this.o.timeoutMs ? { timeoutMs: this.o.timeoutMs } : {}), ...(this.o.fetch ? { fetch: this.o.fetch } : {}),
    });
    const session = await this.rest.generateSession(requestToken, this.o.credentials.apiSecret, { priority: 'kill' });
    if (session.user_id !== this.o.webLogin.userId) throw venueError('PermissionException', `Kite login: session is for another user (${session.user_id})`);
    return { accessToken: session.access_token, userId: session.user_id, expiresAt: nextKiteExpiry(this.o.clock.now()) };
  }

  // ---- the token file -----------------------------------------------------------------------

  private async readStored(): Promise<Awaited<ReturnType<typeof readTokenFile>>> {
    const path = this.o.cachePath;
    if (!path) return { ok: false, why: 'missing', detail: 'no token file configured' };
    const r = await readTokenFile(path, { nowMs: this.o.clock.now(), ...(this.userId ? { userId: this.userId } : {}) });
    if (r.ok && r.rec.accessToken === this.refused) return { ok: false, why: 'expired', detail: `the token in ${path} was refused by Kite` };
    if (!r.ok && r.why === 'readable_by_others') this.o.logger?.warn({ path }, r.detail);
    return r;
  }

  private async writeStored(rec: TokenRecord): Promise<void> {
    if (this.o.cachePath) await writeTokenFile(this.o.cachePath, rec);
  }
}
