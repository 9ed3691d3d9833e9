/**
 * The account, the login flow (password → TOTP → request_token) and the tokens it yields.
 * Tokens die at the next 06:00 IST by the sim Clock, as Kite's do by regulation.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { generateSecret, verifySync } from 'otplib';
import type { Clock } from '../../actors/clock.ts';
import { KiteHttpError, tokenError } from './errors.ts';
import { istDateTime, nextSixAmIst } from './time.ts';

export type KiteSimCredentials = {
  apiKey: string;
  apiSecret: string;
  userId: string;
  password: string;
  /** Base32 TOTP secret, as an authenticator app would hold it. */
  totpSecret: string;
  redirectUrl: string;
};

export type Session = { apiKey: string; userId: string; accessToken: string; publicToken: string; loginMs: number; expiresMs: number };

const REQUEST_ID_TTL_MS = 5 * 60_000;
/** Kite's request_token is "short-lived"; a couple of minutes is generous for any real flow. */
export const REQUEST_TOKEN_TTL_MS = 2 * 60_000;

const alnum = (n: number) => {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(n);
  return Array.from(bytes, (b) => chars[b % chars.length]).join('');
};

export function makeCredentials(partial: Partial<KiteSimCredentials> = {}): KiteSimCredentials {
  return {
    apiKey: partial.apiKey ?? alnum(16),
    apiSecret: partial.apiSecret ?? alnum(32),
    userId: partial.userId ?? 'ZS' + String(1000 + (randomBytes(2).readUInt16BE(0) % 9000)),
    password: partial.password ?? alnum(12),
    totpSecret: partial.totpSecret ?? generateSecret(),
    redirectUrl: partial.redirectUrl ?? 'http://127.0.0.1/kite/callback',
  };
}

export const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class SessionStore {
  private readonly loginRequests = new Map<string, { userId: string; expiresMs: number }>();
  private readonly requestTokens = new Map<string, { userId: string; expiresMs: number }>();
  private readonly sessions = new Map<string, Session>();
  private readonly browserSessions = new Map<string, { userId: string; expiresMs: number }>();

  constructor(readonly creds: KiteSimCredentials, private readonly clock: Clock) {}

  /** Step 1 of the web login: password check → request_id for the 2FA step. */
  passwordLogin(userId: string, password: string): string {
    if (userId !== this.creds.userId || !safeEqual(password, this.creds.password)) {
      throw new KiteHttpError(400, 'InputException', 'Invalid `user_id` or `password`.');
    }
    const requestId = alnum(32);
    this.loginRequests.set(requestId, { userId, expiresMs: this.clock.now() + REQUEST_ID_TTL_MS });
    return requestId;
  }

  /** Step 2: TOTP against the sim Clock's time (±1 step of drift, as authenticators need). */
  twofa(userId: string, requestId: string, code: string): string {
    this.verifyTwofa(userId, requestId, code);
    return this.requestTokenFor(userId);
  }

  /** The TOTP check alone; the pending login is spent on success. */
  verifyTwofa(userId: string, requestId: string, code: string): void {
    const pending = this.loginRequests.get(requestId);
    if (!pending || pending.userId !== userId || pending.expiresMs <= this.clock.now()) {
      throw new KiteHttpError(400, 'InputException', 'Invalid or expired `request_id`. Please login again.');
    }
    const epoch = Math.floor(this.clock.now() / 1000);
    const valid = /^\d{6}$/.test(code) && verifySync({ secret: this.creds.totpSecret, token: code, epoch, epochTolerance: 30 }).valid;
    if (!valid) throw new KiteHttpError(400, 'InputException', 'Invalid TOTP `twofa_value`.');
    this.loginRequests.delete(requestId);
  }

  /** A single-use request_token for the app, as the redirect after a login carries it. */
  requestTokenFor(userId: string): string {
    const requestToken = alnum(32);
    this.requestTokens.set(requestToken, { userId, expiresMs: this.clock.now() + REQUEST_TOKEN_TTL_MS });
    return requestToken;
  }

  /** A logged-in browser (the cookie Kite's web login sets after the TOTP step); dies at 06:00 IST like every session. */
  openBrowserSession(userId: string): string {
    const id = alnum(32);
    this.browserSessions.set(id, { userId, expiresMs: nextSixAmIst(this.clock.now()) });
    return id;
  }

  /** The user a browser cookie is logged in as, if any. */
  browserUser(id: string | undefined): string | undefined {
    const s = id === undefined ? undefined : this.browserSessions.get(id);
    return s && s.expiresMs > this.clock.now() ? s.userId : undefined;
  }

  /** POST /session/token: single-use request_token + checksum → a session. */
  exchange(apiKey: string, requestToken: string, checksum: string): Session {
    if (apiKey !== this.creds.apiKey) throw tokenError('Invalid `api_key`.');
    const rt = this.requestTokens.get(requestToken);
    // Spent on first presentation, even if the checksum is wrong: it is single use.
    this.requestTokens.delete(requestToken);
    if (!rt || rt.expiresMs <= this.clock.now()) throw tokenError('Token is invalid or has expired.');
    if (!safeEqual(checksum.toLowerCase(), sha256Hex(apiKey + requestToken + this.creds.apiSecret))) {
      throw tokenError('Invalid checksum.');
    }
    return this.issue();
  }

  issue(): Session {
    const now = this.clock.now();
    const s: Session = {
      apiKey: this.creds.apiKey,
      userId: this.creds.userId,
      accessToken: alnum(32),
      publicToken: alnum(32),
      loginMs: now,
      expiresMs: nextSixAmIst(now),
    };
    this.sessions.set(s.accessToken, s);
    return s;
  }

  /** Resolves `token api_key:access_token`; TokenException 403 on anything else. */
  authenticate(apiKey: string | undefined, accessToken: string | undefined): Session {
    if (!apiKey || !accessToken) throw tokenError();
    const s = this.sessions.get(accessToken);
    if (!s || s.apiKey !== apiKey) throw tokenError();
    if (s.expiresMs <= this.clock.now()) {
      this.sessions.delete(accessToken);
      throw tokenError('Session expired. Please login again.');
    }
    return s;
  }

  /** What a restart of Kite's session store does: every access token is unknown from now on. */
  forgetAll(): number {
    const n = this.sessions.size;
    this.sessions.clear();
    return n;
  }

  fromAuthHeader(header: string | undefined): Session {
    const m = /^token ([^:\s]+):(\S+)$/.exec(header ?? '');
    return this.authenticate(m?.[1], m?.[2]);
  }

  invalidate(apiKey: string, accessToken: string): boolean {
    const s = this.sessions.get(accessToken);
    if (!s || s.apiKey !== apiKey) throw tokenError();
    this.sessions.delete(accessToken);
    return true;
  }

  sessionPayload(s: Session) {
    return {
      user_type: 'individual',
      email: `${s.userId.toLowerCase()}@example.invalid`,
      user_name: 'Kite Sim Trader',
      user_shortname: 'Sim',
      broker: 'ZERODHA',
      exchanges: ['NSE', 'BSE'],
      products: ['CNC', 'NRML', 'MIS', 'MTF'],
      order_types: ['MARKET', 'LIMIT', 'SL', 'SL-M'],
      avatar_url: null,
      user_id: s.userId,
      api_key: s.apiKey,
      access_token: s.accessToken,
      public_token: s.publicToken,
      enctoken: '',
      refresh_token: '',
      silo: '',
      login_time: istDateTime(s.loginMs),
      meta: { demat_consent: 'physical' },
    };
  }

  profilePayload(s: Session) {
    const { access_token: _a, public_token: _p, enctoken: _e, refresh_token: _r, silo: _s, api_key: _k, login_time: _l, ...profile } =
      this.sessionPayload(s);
    return profile;
  }
}
