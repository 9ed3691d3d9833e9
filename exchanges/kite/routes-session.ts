/** Login flow (password → TOTP → request_token), session exchange, profile and margins. */
import { z } from 'zod';
import type { SimContext } from './context.ts';
import { KiteHttpError } from './errors.ts';
import { errorReply, html, json, ok, redirect, validate, type Router, type SimRequest } from './http-kit.ts';
import { loginPage } from './login-page.ts';
import { OPENING_CASH_PAISE } from './orders.ts';

const LoginBody = z.object({ user_id: z.string().min(1), password: z.string().min(1) });
const TwofaBody = z.object({
  user_id: z.string().min(1),
  request_id: z.string().min(1),
  twofa_value: z.string().regex(/^\d{6}$/, 'must be a 6-digit code'),
  twofa_type: z.string().optional(),
});
const SessionBody = z.object({ api_key: z.string().min(1), request_token: z.string().min(1), checksum: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be hex sha256') });
const LogoutQuery = z.object({ api_key: z.string().min(1), access_token: z.string().min(1) });
const Segment = z.enum(['equity', 'commodity']);

const rupees = (paise: number) => Math.round(paise) / 100;

/** The logged-in browser's cookie (Kite's web app sets `enctoken` after the TOTP step). */
const BROWSER_COOKIE = 'enctoken';

function cookie(req: SimRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The app's registered redirect URL with the request_token, as Kite sends the browser there. */
function appRedirect(ctx: SimContext, requestToken: string): string {
  const target = new URL(ctx.creds.redirectUrl);
  target.searchParams.set('request_token', requestToken);
  target.searchParams.set('action', 'login');
  target.searchParams.set('status', 'success');
  return target.toString();
}

export function addSessionRoutes(r: Router, ctx: SimContext): void {
  const browser = { kind: 'browser', rate: 'other' } as const;

  // The login page; a browser already logged in (the cookie the TOTP step's JSON answer set) is
  // sent on to the app instead, by way of /connect/finish, as kite.zerodha.com does.
  r.add('GET', '/connect/login', browser, (req) => {
    const apiKey = req.query.get('api_key') ?? '';
    if (apiKey !== ctx.creds.apiKey) return html(400, '<!doctype html><p>Invalid <code>api_key</code>.</p>');
    const user = ctx.sessions.browserUser(cookie(req, BROWSER_COOKIE));
    if (user) {
      const finish = new URLSearchParams({ api_key: apiKey, sess_id: ctx.sessions.openBrowserSession(user) });
      return redirect(`/connect/finish?${finish}`);
    }
    return html(200, loginPage(apiKey, ctx.webLoginAnswer));
  });

  r.add('GET', '/connect/finish', browser, (req) => {
    const user = ctx.sessions.browserUser(cookie(req, BROWSER_COOKIE));
    if (req.query.get('api_key') !== ctx.creds.apiKey || !user || !ctx.sessions.browserUser(req.query.get('sess_id') ?? undefined)) {
      return html(400, '<!doctype html><p>Invalid session. Please login again.</p>');
    }
    return redirect(appRedirect(ctx, ctx.sessions.requestTokenFor(user)));
  });

  r.add('POST', '/api/login', browser, (req) => {
    const body = validate(LoginBody, req.body);
    const requestId = ctx.sessions.passwordLogin(body.user_id, body.password);
    return ok({ user_id: body.user_id, request_id: requestId, twofa_type: 'totp', twofa_types: ['totp'], twofa_status: 'active' });
  });

  // Kite's web login answers the TOTP step in one of two ways (docs/venues/kite.md, "Session"):
  // JSON with the session cookie set, the request_token coming on the next visit to the login
  // URL; or a redirect to the app carrying the request_token at once.
  r.add('POST', '/api/twofa', browser, (req) => {
    const body = validate(TwofaBody, req.body);
    ctx.sessions.verifyTwofa(body.user_id, body.request_id, body.twofa_value);
    if (ctx.webLoginAnswer === 'redirect') return redirect(appRedirect(ctx, ctx.sessions.requestTokenFor(body.user_id)));
    const sid = ctx.sessions.openBrowserSession(body.user_id);
    return json(200, { status: 'success', data: { profile: { user_name: 'Kite Sim Trader', user_shortname: 'Sim', avatar_url: null } } }, {
      'set-cookie': `${BROWSER_COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Lax`,
    });
  });

  r.add('POST', '/session/token', { kind: 'public', rate: 'other' }, (req) => {
    const body = validate(SessionBody, req.body);
    return ok(ctx.sessions.sessionPayload(ctx.sessions.exchange(body.api_key, body.request_token, body.checksum)));
  });

  r.add('DELETE', '/session/token', { kind: 'public', rate: 'other' }, (req) => {
    const q = validate(LogoutQuery, Object.fromEntries(req.query));
    return ok(ctx.sessions.invalidate(q.api_key, q.access_token));
  });

  r.add('GET', '/user/profile', { kind: 'api', rate: 'other' }, (req) => ok(ctx.sessions.profilePayload(req.session!)));

  r.add('GET', '/user/margins', { kind: 'api', rate: 'other' }, () => ok({ equity: equityMargins(ctx), commodity: commodityMargins() }));
  r.add('GET', '/user/margins/:segment', { kind: 'api', rate: 'other' }, (req) => {
    const seg = Segment.safeParse(req.params.segment);
    if (!seg.success) return errorReply(new KiteHttpError(400, 'InputException', 'Invalid `segment`: use equity or commodity.'));
    return ok(seg.data === 'equity' ? equityMargins(ctx) : commodityMargins());
  });
}

function equityMargins(ctx: SimContext) {
  const { realisedPaise, unrealisedPaise } = ctx.engine.positions.totals((t) => ctx.market.state(t));
  const utilised = ctx.engine.utilisedPaise();
  const net = OPENING_CASH_PAISE + realisedPaise - utilised;
  return segmentMargins(true, net, OPENING_CASH_PAISE, OPENING_CASH_PAISE + realisedPaise, utilised, realisedPaise, unrealisedPaise);
}

function commodityMargins() {
  return segmentMargins(false, 0, 0, 0, 0, 0, 0);
}

function segmentMargins(enabled: boolean, net: number, opening: number, live: number, debits: number, realised: number, unrealised: number) {
  return {
    enabled,
    net: rupees(net),
    available: {
      adhoc_margin: 0,
      cash: rupees(opening),
      opening_balance: rupees(opening),
      live_balance: rupees(live - debits),
      collateral: 0,
      intraday_payin: 0,
    },
    utilised: {
      debits: rupees(debits),
      exposure: 0,
      m2m_realised: rupees(realised),
      m2m_unrealised: rupees(unrealised),
      option_premium: 0,
      payout: 0,
      span: 0,
      holding_sales: 0,
      turnover: 0,
      liquid_collateral: 0,
      stock_collateral: 0,
      delivery: 0,
    },
  };
}
