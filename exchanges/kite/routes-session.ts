/** Login flow (password → TOTP → request_token), session exchange, profile and margins. */
import { z } from 'zod';
import type { SimContext } from './context.ts';
import { KiteHttpError } from './errors.ts';
import { errorReply, html, ok, redirect, validate, type Router } from './http-kit.ts';
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

export function addSessionRoutes(r: Router, ctx: SimContext): void {
  const browser = { kind: 'browser', rate: 'other' } as const;

  r.add('GET', '/connect/login', browser, (req) => {
    const apiKey = req.query.get('api_key') ?? '';
    if (apiKey !== ctx.creds.apiKey) return html(400, '<!doctype html><p>Invalid <code>api_key</code>.</p>');
    return html(200, loginPage(apiKey));
  });

  r.add('POST', '/api/login', browser, (req) => {
    const body = validate(LoginBody, req.body);
    const requestId = ctx.sessions.passwordLogin(body.user_id, body.password);
    return ok({ user_id: body.user_id, request_id: requestId, twofa_type: 'totp', twofa_types: ['totp'], twofa_status: 'active' });
  });

  r.add('POST', '/api/twofa', browser, (req) => {
    const body = validate(TwofaBody, req.body);
    const requestToken = ctx.sessions.twofa(body.user_id, body.request_id, body.twofa_value);
    const target = new URL(ctx.creds.redirectUrl);
    target.searchParams.set('request_token', requestToken);
    target.searchParams.set('action', 'login');
    target.searchParams.set('status', 'success');
    return redirect(target.toString());
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
