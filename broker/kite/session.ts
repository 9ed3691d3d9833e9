import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generate } from 'otplib';
import { z } from 'zod';
import type { Clock, TimerHandle } from '../../actors/clock.ts';
import { registerSecret, type Logger } from '../../actors/logger.ts';
import type { RateLimiter } from '../limiter/types.ts';
import { VenueError } from '../venue-errors.ts';
import { kindForResponse, socketErrorCode, venueError } from './errors.ts';
import { IST_OFFSET_MS } from './market-hours.ts';
import { KiteRestClient } from './rest-client.ts';

/**
 * Owns the day's Kite access token: the full login (password → TOTP → request_token →
 * /session/token), a 0600 cache file so a restart does not log in again, a renewal just after
 * the 06:00 IST expiry, and single-flight re-authentication when Kite says TokenException.
 * No secret (api_secret, password, TOTP secret or code, tokens) is ever logged or put in an error.
 */

export type KiteCredentials = { apiKey: string; apiSecret: string; userId: string; password: string; totpSecret: string };
export type TokenRecord = { accessToken: string; expiresAt: number; userId: string };

export type KiteSessionOptions = {
  credentials: KiteCredentials;
  /** REST root for /session/token (https://api.kite.trade or sim.restUrl). */
  apiRoot: string;
  /** Root of the login pages (https://kite.zerodha.com or sim.restUrl). */
  loginRoot: string;
  clock: Clock;
  limiter: RateLimiter;
  /** Token cache; omitted = no cache. */
  cachePath?: string;
  /** A TokenException within this long after a refresh is not a reason for another login. */
  freshForMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  logger?: Logger;
  /** Every login's outcome, for metrics and the failed re-auth kill trigger. Never sees a secret. */
  onLogin?: (e: LoginEvent) => void;
};

export type LoginEvent =
  | { ok: true; reason: string; expiresAt: number }
  /** `atMarketOpen`: the market opened (09:15 IST) with no valid token: the re-auth alert and kill trigger fire at once. */
  | { ok: false; reason: string; kind: string; message: string; atMarketOpen?: boolean };

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

const CacheSchema = z.object({ accessToken: z.string().min(1), expiresAt: z.number().int(), userId: z.string().min(1) });
const LoginReply = z.object({ status: z.literal('success'), data: z.looseObject({ request_id: z.string().min(1) }) });
const KiteErrorReply = z.looseObject({ message: z.string().optional(), error_type: z.string().optional() });

export class KiteSessionManager {
  private current: TokenRecord | undefined;
  private inflight: Promise<TokenRecord> | undefined;
  private lastRefreshAt = -Infinity;
  private timer: TimerHandle | undefined;
  private openCheck: TimerHandle | undefined;
  private stopped = false;
  private readonly rest: KiteRestClient;
  private readonly doFetch: typeof fetch;
  private readonly loginRoot: string;

  constructor(private readonly o: KiteSessionOptions) {
    for (const k of ['apiKey', 'apiSecret', 'userId', 'password', 'totpSecret'] as const) {
      if (!o.credentials[k]) throw new Error(`KiteSessionManager: credentials.${k} is required`);
    }
    for (const k of ['apiSecret', 'password', 'totpSecret'] as const) registerSecret(o.credentials[k]);
    this.doFetch = o.fetch ?? globalThis.fetch;
    this.loginRoot = o.loginRoot.replace(/\/+$/, '');
    this.rest = new KiteRestClient({
      root: o.apiRoot, apiKey: o.credentials.apiKey, getAccessToken: () => this.current?.accessToken, limiter: o.limiter, clock: o.clock,
      ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}), ...(o.fetch ? { fetch: o.fetch } : {}), ...(o.logger ? { logger: o.logger } : {}),
    });
  }

  /** Reuses a valid cached token or logs in, then keeps the token fresh. */
  async start(): Promise<void> {
    this.stopped = false;
    this.scheduleOpenCheck();
    const cached = await this.readCache();
    if (cached) {
      this.current = cached;
      registerSecret(cached.accessToken);
      this.o.logger?.info({ userId: cached.userId, expiresAt: new Date(cached.expiresAt).toISOString() }, 'kite session restored from cache');
      this.schedule(cached);
      this.o.onLogin?.({ ok: true, reason: 'cache', expiresAt: cached.expiresAt });
      return;
    }
    await this.refresh('start');
  }

  stop(): void {
    this.stopped = true;
    this.o.clock.clearTimeout(this.timer);
    this.o.clock.clearTimeout(this.openCheck);
  }

  /**
   * Every day at 09:15 IST: with no valid token the market opens without us, which the re-auth
   * alert and kill trigger must hear at once (not after three more failed logins).
   */
  private scheduleOpenCheck(): void {
    this.o.clock.clearTimeout(this.openCheck);
    if (this.stopped) return;
    const now = this.o.clock.now();
    this.openCheck = this.o.clock.setTimeout(() => {
      if (!this.currentAccessToken()) {
        const message = 'no valid Kite access token at market open (09:15 IST)';
        this.o.logger?.error({ userId: this.o.credentials.userId }, message);
        this.o.onLogin?.({ ok: false, reason: 'market_open', kind: 'TokenException', message, atMarketOpen: true });
      }
      this.scheduleOpenCheck();
    }, nextMarketOpen(now) - now);
  }

  /** For synchronous callers (the REST client's auth header): undefined once expired. */
  currentAccessToken(): string | undefined {
    const c = this.current;
    return c && c.expiresAt > this.o.clock.now() ? c.accessToken : undefined;
  }

  /** A valid token, logging in first if needed; concurrent callers share one login. */
  async getAccessToken(): Promise<string> {
    return this.currentAccessToken() ?? (await this.refresh('expired')).accessToken;
  }

  /**
   * Kite said TokenException. Callers that raced the same expiry share one login, and a caller
   * whose request went out just before a refresh does not trigger a second one.
   */
  async reauthenticate(): Promise<void> {
    if (this.inflight) {
      await this.inflight;
      return;
    }
    if (this.o.clock.now() - this.lastRefreshAt < (this.o.freshForMs ?? 30_000) && this.currentAccessToken()) return;
    await this.refresh('token_exception');
  }

  private refresh(reason: string): Promise<TokenRecord> {
    if (this.inflight) return this.inflight;
    this.o.logger?.info({ userId: this.o.credentials.userId, reason }, 'kite login');
    this.inflight = this.login()
      .then(async (rec) => {
        this.current = rec;
        registerSecret(rec.accessToken);
        this.lastRefreshAt = this.o.clock.now();
        await this.writeCache(rec);
        this.schedule(rec);
        this.o.logger?.info({ userId: rec.userId, expiresAt: new Date(rec.expiresAt).toISOString() }, 'kite session ready');
        this.o.onLogin?.({ ok: true, reason, expiresAt: rec.expiresAt });
        return rec;
      }, (err: unknown) => {
        const kind = err instanceof VenueError ? err.kind : 'unexpected';
        const message = err instanceof Error ? err.message : String(err);
        this.o.logger?.error({ userId: this.o.credentials.userId, reason, kind, error: message }, 'kite login failed');
        this.o.onLogin?.({ ok: false, reason, kind, message });
        throw err;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  private schedule(rec: TokenRecord): void {
    this.o.clock.clearTimeout(this.timer);
    if (this.stopped) return;
    const now = this.o.clock.now();
    this.timer = this.o.clock.setTimeout(() => {
      this.refresh('scheduled').catch((err: unknown) => {
        this.o.logger?.error({ userId: rec.userId, kind: err instanceof VenueError ? err.kind : 'unexpected', error: (err as Error).message }, 'kite scheduled login failed');
        // Try again shortly rather than let the token lapse silently.
        if (!this.stopped) this.timer = this.o.clock.setTimeout(() => this.schedule(rec), 60_000);
      });
    }, refreshAt(now, rec.expiresAt) - now);
  }

  // ---- the login flow ---------------------------------------------------------------------

  private async login(): Promise<TokenRecord> {
    const c = this.o.credentials;
    const jar = new Map<string, string>();
    const loginPage = `${this.loginRoot}/connect/login?v=3&api_key=${encodeURIComponent(c.apiKey)}`;
    const page = await this.follow(loginPage, jar, 'login page');
    if (page.requestToken === undefined && page.status >= 400) throw this.stepError('login page', page.status, await safeJson(page.res));

    const pw = await this.http('POST', `${this.loginRoot}/api/login`, jar, { user_id: c.userId, password: c.password });
    const pwJson = await safeJson(pw);
    const pwBody = LoginReply.safeParse(pwJson);
    if (!pw.ok || !pwBody.success) throw this.stepError('password', pw.status, pwJson);

    const code = await generate({ secret: c.totpSecret, epoch: Math.floor(this.o.clock.now() / 1000) });
    const twofa = await this.http('POST', `${this.loginRoot}/api/twofa`, jar, {
      user_id: c.userId, request_id: pwBody.data.data.request_id, twofa_value: code, twofa_type: 'totp',
    });
    let requestToken = requestTokenFrom(twofa);
    if (requestToken === undefined) {
      if (!twofa.ok) throw this.stepError('twofa', twofa.status, await safeJson(twofa));
      // kite.zerodha.com answers the TOTP with JSON and redirects on the next visit to the login URL.
      requestToken = (await this.follow(loginPage, jar, 'post-twofa redirect')).requestToken;
    }
    if (requestToken === undefined) throw venueError('TokenException', 'Kite login: no request_token after two-factor step');

    const session = await this.rest.generateSession(requestToken, c.apiSecret, { priority: 'kill' });
    if (session.user_id !== c.userId) throw venueError('PermissionException', `Kite login: session is for another user (${session.user_id})`);
    return { accessToken: session.access_token, userId: session.user_id, expiresAt: nextKiteExpiry(this.o.clock.now()) };
  }

  /** Follows same-site redirects by hand, stopping at the one that carries request_token. */
  private async follow(url: string, jar: Map<string, string>, step: string): Promise<{ status: number; requestToken?: string; res: Response }> {
    let next = url;
    for (let hop = 0; hop < 6; hop++) {
      const res = await this.http('GET', next, jar);
      const rt = requestTokenFrom(res);
      if (rt !== undefined) return { status: res.status, requestToken: rt, res };
      const loc = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !loc) return { status: res.status, res };
      const target = new URL(loc, next);
      if (target.origin !== new URL(this.loginRoot).origin) return { status: res.status, res }; // the app's own redirect page: not ours to fetch
      next = target.toString();
    }
    throw venueError('GatewayError', `Kite login: too many redirects at ${step}`);
  }

  private async http(method: 'GET' | 'POST', url: string, jar: Map<string, string>, form?: Record<string, string>): Promise<Response> {
    const headers: Record<string, string> = { 'X-Kite-Version': '3' };
    if (jar.size) headers.Cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    const controller = new AbortController();
    let timedOut = false;
    const timer = this.o.clock.setTimeout(() => ((timedOut = true), controller.abort()), this.o.timeoutMs ?? 7_000);
    const path = new URL(url).pathname; // never the query or the body
    try {
      const res = await this.doFetch(url, { method, headers, body: form ? new URLSearchParams(form).toString() : undefined, redirect: 'manual', signal: controller.signal });
      for (const sc of res.headers.getSetCookie()) {
        const [pair] = sc.split(';');
        const eq = pair!.indexOf('=');
        if (eq > 0) jar.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
      }
      return res;
    } catch (e) {
      if (timedOut) throw venueError('Timeout', `Kite login ${method} ${path}: no answer`, { cause: e });
      throw venueError('ConnectionError', `Kite login ${method} ${path}: ${socketErrorCode(e) ?? 'network error'}`, { cause: e });
    } finally {
      this.o.clock.clearTimeout(timer);
    }
  }

  private stepError(step: string, status: number, json: unknown): VenueError {
    const body = KiteErrorReply.safeParse(json);
    const errorType = body.success ? body.data.error_type : undefined;
    const kind = status < 300 ? 'TokenException' : kindForResponse(status, errorType);
    const msg = body.success && body.data.message ? `: ${body.data.message}` : '';
    return venueError(kind, `Kite login failed at ${step} (${status}${errorType ? ` ${errorType}` : ''})${msg}`, { status });
  }

  // ---- cache --------------------------------------------------------------------------------

  private async readCache(): Promise<TokenRecord | undefined> {
    const path = this.o.cachePath;
    if (!path) return undefined;
    let st;
    try {
      st = await stat(path);
    } catch {
      return undefined;
    }
    if ((st.mode & 0o077) !== 0) {
      this.o.logger?.warn({ path, mode: (st.mode & 0o777).toString(8) }, 'kite token cache is readable by others: refusing it and logging in afresh');
      return undefined;
    }
    try {
      const rec = CacheSchema.parse(JSON.parse(await readFile(path, 'utf8')));
      if (rec.userId !== this.o.credentials.userId) return undefined;
      if (rec.expiresAt <= this.o.clock.now()) return undefined;
      return rec;
    } catch {
      this.o.logger?.warn({ path }, 'kite token cache unreadable: ignoring it');
      return undefined;
    }
  }

  private async writeCache(rec: TokenRecord): Promise<void> {
    const path = this.o.cachePath;
    if (!path) return;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    // Created 0600 and renamed into place, so the token is never briefly world-readable.
    await writeFile(tmp, JSON.stringify(rec), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  }
}

function requestTokenFrom(res: Response): string | undefined {
  const loc = res.headers.get('location');
  if (!loc || res.status < 300 || res.status >= 400) return undefined;
  return new URL(loc, 'http://x').searchParams.get('request_token') ?? undefined;
}

async function safeJson(res: Response): Promise<unknown> {
  try {
    return JSON.parse(await res.text());
  } catch {
    return undefined;
  }
}
