import { generate } from 'otplib';
import { z } from 'zod';
import type { Clock } from '../../actors/clock.ts';
import type { VenueError } from '../venue-errors.ts';
import { kindForResponse, socketErrorCode, venueError } from './errors.ts';

/**
 * The automated web login with TOTP: UNOFFICIAL. Kite Connect has no login API; this walks
 * kite.zerodha.com's own pages (password, then TOTP) the way a browser does, which Zerodha
 * advises against (docs/venues/kite.md, "Session"). It runs only when the operator opts in
 * (KITE_AUTO_LOGIN=totp); the default is the official `orch login kite`.
 *
 * Kite's web login answers the TOTP step in one of two ways, and both are handled: JSON
 * (the session cookie is set, and the next visit to the login URL redirects to the app with
 * `request_token`), or a redirect that carries `request_token` at once.
 * No secret (password, TOTP secret or code) is ever put in an error.
 */

export type WebLoginCredentials = { userId: string; password: string; totpSecret: string };

export type WebLoginOptions = {
  /** Root of the login pages (https://kite.zerodha.com or the built-in exchange). */
  loginRoot: string;
  apiKey: string;
  credentials: WebLoginCredentials;
  clock: Clock;
  timeoutMs?: number;
  fetch?: typeof fetch;
};

const LoginReply = z.object({ status: z.literal('success'), data: z.looseObject({ request_id: z.string().min(1) }) });
const KiteErrorReply = z.looseObject({ message: z.string().optional(), error_type: z.string().optional() });

/** Walks the web login and returns the `request_token` Kite redirects the app with. */
export async function webLoginRequestToken(o: WebLoginOptions): Promise<string> {
  const w = new WebLogin(o);
  return w.run();
}

class WebLogin {
  private readonly jar = new Map<string, string>();
  private readonly root: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly o: WebLoginOptions) {
    this.root = o.loginRoot.replace(/\/+$/, '');
    this.doFetch = o.fetch ?? globalThis.fetch;
  }

  async run(): Promise<string> {
    const c = this.o.credentials;
    const loginPage = `${this.root}/connect/login?v=3&api_key=${encodeURIComponent(this.o.apiKey)}`;
    const page = await this.follow(loginPage, 'login page');
    if (page.requestToken === undefined && page.status >= 400) throw stepError('login page', page.status, await safeJson(page.res));

    const pw = await this.http('POST', `${this.root}/api/login`, { user_id: c.userId, password: c.password });
    const pwJson = await safeJson(pw);
    const pwBody = LoginReply.safeParse(pwJson);
    if (!pw.ok || !pwBody.success) throw stepError('password', pw.status, pwJson);

    const code = await generate({ secret: c.totpSecret, epoch: Math.floor(this.o.clock.now() / 1000) });
    const twofa = await this.http('POST', `${this.root}/api/twofa`, {
      user_id: c.userId, request_id: pwBody.data.data.request_id, twofa_value: code, twofa_type: 'totp',
    });
    // The redirect answer carries request_token at once.
    let requestToken = requestTokenFrom(twofa);
    if (requestToken === undefined) {
      if (!twofa.ok) throw stepError('twofa', twofa.status, await safeJson(twofa));
      // The JSON answer: the session cookie is set; the next visit to the login URL redirects to the app.
      await twofa.body?.cancel();
      requestToken = (await this.follow(loginPage, 'post-twofa redirect')).requestToken;
    }
    if (requestToken === undefined) throw venueError('TokenException', 'Kite login: no request_token after two-factor step');
    return requestToken;
  }

  /** Follows same-site redirects by hand, stopping at the one that carries request_token. */
  private async follow(url: string, step: string): Promise<{ status: number; requestToken?: string; res: Response }> {
    let next = url;
    for (let hop = 0; hop < 6; hop++) {
      const res = await this.http('GET', next);
      const rt = requestTokenFrom(res);
      if (rt !== undefined) return { status: res.status, requestToken: rt, res };
      const loc = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !loc) return { status: res.status, res };
      const target = new URL(loc, next);
      if (target.origin !== new URL(this.root).origin) return { status: res.status, res }; // the app's own redirect page: not ours to fetch
      next = target.toString();
    }
    throw venueError('GatewayError', `Kite login: too many redirects at ${step}`);
  }

  private async http(method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<Response> {
    const headers: Record<string, string> = { 'X-Kite-Version': '3' };
    if (this.jar.size) headers.Cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
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
        if (eq > 0) this.jar.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
      }
      return res;
    } catch (e) {
      if (timedOut) throw venueError('Timeout', `Kite login ${method} ${path}: no answer`, { cause: e });
      throw venueError('ConnectionError', `Kite login ${method} ${path}: ${socketErrorCode(e) ?? 'network error'}`, { cause: e });
    } finally {
      this.o.clock.clearTimeout(timer);
    }
  }
}

function stepError(step: string, status: number, json: unknown): VenueError {
  const body = KiteErrorReply.safeParse(json);
  const errorType = body.success ? body.data.error_type : undefined;
  const kind = status < 300 ? 'TokenException' : kindForResponse(status, errorType);
  const msg = body.success && body.data.message ? `: ${body.data.message}` : '';
  return venueError(kind, `Kite login failed at ${step} (${status}${errorType ? ` ${errorType}` : ''})${msg}`, { status });
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
