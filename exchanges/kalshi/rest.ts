import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Clock } from '../../actors/clock.ts';
import { formatCents, formatCount, formatPrice as formatDollars, parseCount, parsePrice as parseDollars } from './units.ts';
import { SimError, type SimEngine, type SimOrder } from './engine.ts';
import type { FaultState } from './faults.ts';
import { costOf, DEFAULT_COST, ENDPOINT_COSTS, type SimRateLimits } from './limits.ts';
import type { SimAuth } from './auth.ts';
import type { SimEvent, SimSeries } from './seed.ts';
import { eventJson, fillJson, marketJson, orderJson, positionJson, seriesJson, type FieldSet } from './wire.ts';

export const REST_PREFIX = '/trade-api/v2';

export type RestContext = {
  engine: SimEngine;
  clock: Clock;
  faults: FaultState;
  limits: SimRateLimits;
  auth: SimAuth;
  events: readonly SimEvent[];
  series: readonly SimSeries[];
  /** responses withheld by acceptThenTimeout, ended at close */
  withheld: Set<ServerResponse>;
  fields: FieldSet;
};

type Reply = { status: number; body: unknown };
type Req = { method: string; path: string; q: URLSearchParams; body: unknown };

const fixedStr = (parse: (s: string) => number) => z.string().transform((s, ctx) => {
  try { return parse(s); } catch (e) { ctx.addIssue({ code: 'custom', message: (e as Error).message }); return z.NEVER; }
});
const CreateBody = z.object({
  ticker: z.string(),
  client_order_id: z.string().max(64).optional(),
  side: z.enum(['bid', 'ask']),
  count: fixedStr(parseCount),
  price: fixedStr(parseDollars),
  time_in_force: z.enum(['fill_or_kill', 'good_till_canceled', 'immediate_or_cancel']),
  self_trade_prevention_type: z.enum(['taker_at_cross', 'maker']),
  post_only: z.boolean().optional(),
});
const AmendBody = z.object({ ticker: z.string(), side: z.enum(['bid', 'ask']), price: fixedStr(parseDollars), count: fixedStr(parseCount), updated_client_order_id: z.string().optional() });
const DecreaseBody = z.object({ reduce_by: fixedStr(parseCount).optional(), reduce_to: fixedStr(parseCount).optional() })
  .refine((d) => (d.reduce_by === undefined) !== (d.reduce_to === undefined), 'exactly one of reduce_by, reduce_to');
const BatchCreate = z.object({ orders: z.array(z.unknown()).min(1) });
const BatchCancel = z.object({ orders: z.array(z.object({ order_id: z.string() })).min(1) });

const err = (status: number, code: string, message: string): Reply => ({ status, body: { error: { code, message, details: '' } } });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new SimError(400, 'invalid_parameters', r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return r.data;
}

function page<T>(items: T[], q: URLSearchParams, max = 1000): { items: T[]; cursor: string } {
  const limit = Math.min(max, Math.max(1, Number(q.get('limit') ?? 100) || 100));
  const start = Number(q.get('cursor') ?? 0) || 0;
  const next = start + limit;
  return { items: items.slice(start, next), cursor: next < items.length ? String(next) : '' };
}

/**
 * `min_ts` / `max_ts` (Unix seconds) of GET /portfolio/orders (on the order's creation time) and
 * GET /portfolio/fills (on the fill's time), as in Kalshi's API reference:
 * https://docs.kalshi.com/api-reference/orders/get-orders and
 * https://docs.kalshi.com/api-reference/portfolio/get-fills (docs/venues/kalshi.md, "History
 * after an outage"). A value that is not a whole number is refused (400).
 */
function timeWindow(q: URLSearchParams): (tsMs: number) => boolean {
  const bound = (name: string): number | undefined => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    if (!/^\d+$/.test(v)) throw new SimError(400, 'invalid_parameters', `${name} must be a Unix timestamp in seconds`);
    return Number(v) * 1000;
  };
  const min = bound('min_ts');
  const max = bound('max_ts');
  return (tsMs) => (min === undefined || tsMs >= min) && (max === undefined || tsMs <= max);
}

/** Which bucket a call draws from, and how many tokens: batches save nothing, each item is billed. */
function bill(r: Req): { category: 'read' | 'write'; cost: number } {
  if (r.method === 'GET') return { category: 'read', cost: costOf(r.method, r.path) };
  const orders = (r.body as { orders?: unknown[] } | undefined)?.orders;
  const n = r.path === '/portfolio/events/orders/batched' && Array.isArray(orders) ? orders.length : 1;
  return { category: 'write', cost: n * costOf(r.method, r.path) };
}

export async function handleRest(ctx: RestContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const raw = await readBody(req);
  const r: Req = { method: req.method ?? 'GET', path: url.pathname.slice(REST_PREFIX.length) || '/', q: url.searchParams, body: undefined };
  const send = (reply: Reply, extra: Record<string, string> = {}) => {
    if (res.writableEnded) return;
    res.writeHead(reply.status, { 'content-type': 'application/json', ...extra });
    res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
  };
  if (raw) {
    try { r.body = JSON.parse(raw); } catch { return send(err(400, 'invalid_json', 'body is not JSON')); }
  }
  const auth = ctx.auth.check(req.headers, r.method, url.pathname);
  if (auth.ok === false) return send(err(401, 'authentication_error', auth.reason));
  if (auth.ok === 'anonymous' && r.path.startsWith('/portfolio')) return send(err(401, 'authentication_error', 'authentication required'));
  const failure = ctx.faults.takeFailure();
  if (failure !== undefined) return send(err(failure, 'injected_failure', `injected ${failure}`));
  const storm = ctx.faults.stormWaitMs();
  // Kalshi's 429 carries no Retry-After and no X-RateLimit-* headers ("apply exponential backoff"),
  // so neither does ours: a client that leaned on them would pass here and fail there.
  if (storm > 0) return send({ status: 429, body: { error: 'too many requests' } });
  const { category, cost } = bill(r);
  if (!ctx.limits.take(auth.ok === true ? auth.keyId : 'anonymous', category, cost)) return send({ status: 429, body: { error: 'too many requests' } });
  let reply: Reply;
  try {
    reply = route(ctx, r);
  } catch (e) {
    reply = e instanceof SimError ? err(e.status, e.code, e.message) : err(500, 'internal', String(e));
  }
  if (category === 'write' && ctx.faults.takeSwallow()) {
    ctx.withheld.add(res); // the write happened; the answer never comes
    res.on('close', () => ctx.withheld.delete(res));
    return;
  }
  send(reply);
}

function route(ctx: RestContext, r: Req): Reply {
  const { engine } = ctx;
  const m = (re: RegExp) => re.exec(r.path);
  const now = ctx.clock.now();
  let g: RegExpExecArray | null;
  const key = `${r.method} ${r.path}`;
  if (key === 'GET /exchange/status') return { status: 200, body: { exchange_active: true, trading_active: true } };
  if (key === 'GET /account/limits') {
    return { status: 200, body: { usage_tier: ctx.limits.tier, read: { ...ctx.limits.limits.read }, write: { ...ctx.limits.limits.write }, grants: [] } };
  }
  if (key === 'GET /account/endpoint_costs') {
    return { status: 200, body: { default_cost: DEFAULT_COST, endpoint_costs: ENDPOINT_COSTS.map((e) => ({ ...e })) } };
  }
  if (key === 'GET /markets') {
    const tickers = r.q.get('tickers')?.split(',');
    const ev = r.q.get('event_ticker');
    const se = r.q.get('series_ticker');
    const st = r.q.get('status');
    const list = [...engine.markets.values()].filter((x) => (!tickers || tickers.includes(x.ticker)) && (!ev || x.eventTicker === ev)
      && (!se || x.seriesTicker === se) && (!st || (st === 'open' ? x.status === 'active' : st === 'closed' ? x.status === 'closed' : false)));
    const p = page(list, r.q);
    return { status: 200, body: { markets: p.items.map((x) => marketJson(engine, x)), cursor: p.cursor } };
  }
  if (r.method === 'GET' && (g = m(/^\/markets\/([^/]+)\/orderbook$/))) {
    const t = decodeURIComponent(g[1]!);
    if (!engine.markets.has(t)) throw new SimError(404, 'market_not_found', t);
    const depth = Number(r.q.get('depth') ?? 0) || 0;
    const lv = engine.levels(t);
    const fmt = (l: Array<[number, number]>) => (depth > 0 ? l.slice(-depth) : l).map(([p, c]) => [formatDollars(p), formatCount(c)]);
    return { status: 200, body: { orderbook_fp: { yes_dollars: fmt(lv.yes), no_dollars: fmt(lv.no) } } };
  }
  if (r.method === 'GET' && (g = m(/^\/markets\/([^/]+)$/))) {
    const mk = engine.markets.get(decodeURIComponent(g[1]!));
    if (!mk) throw new SimError(404, 'market_not_found', g[1]!);
    return { status: 200, body: { market: marketJson(engine, mk) } };
  }
  if (key === 'GET /events') {
    const se = r.q.get('series_ticker');
    const nested = r.q.get('with_nested_markets') === 'true';
    const p = page(ctx.events.filter((e) => !se || e.seriesTicker === se), r.q, 200);
    return { status: 200, body: { events: p.items.map((e) => eventJson(e, nested ? marketsOf(ctx, e.eventTicker) : undefined)), cursor: p.cursor } };
  }
  if (r.method === 'GET' && (g = m(/^\/events\/([^/]+)$/))) {
    const e = ctx.events.find((x) => x.eventTicker === decodeURIComponent(g![1]!));
    if (!e) throw new SimError(404, 'event_not_found', g[1]!);
    return { status: 200, body: { event: eventJson(e), markets: marketsOf(ctx, e.eventTicker) } };
  }
  if (key === 'GET /series') return { status: 200, body: { series: ctx.series.map(seriesJson) } };
  if (r.method === 'GET' && (g = m(/^\/series\/([^/]+)$/))) {
    const s = ctx.series.find((x) => x.ticker === decodeURIComponent(g![1]!));
    if (!s) throw new SimError(404, 'series_not_found', g[1]!);
    return { status: 200, body: { series: seriesJson(s) } };
  }
  if (key === 'POST /portfolio/events/orders') return { status: 201, body: created(engine, parse(CreateBody, r.body), now) };
  if (key === 'POST /portfolio/events/orders/batched') {
    const items = parse(BatchCreate, r.body).orders.map((o) => {
      try {
        return { ...created(engine, parse(CreateBody, o), now), error: null };
      } catch (e) {
        const se = e instanceof SimError ? e : new SimError(500, 'internal', String(e));
        return { client_order_id: (o as { client_order_id?: string })?.client_order_id ?? null, error: { code: se.code, message: se.message } };
      }
    });
    return { status: 201, body: { orders: items } };
  }
  if (key === 'DELETE /portfolio/events/orders/batched') {
    const items = parse(BatchCancel, r.body).orders.map(({ order_id }) => {
      try {
        const c = engine.cancel(order_id);
        return { order_id, client_order_id: c.order.clientOrderId, reduced_by: formatCount(c.reducedBy), ts_ms: now, error: null };
      } catch (e) {
        const se = e as SimError;
        return { order_id, reduced_by: '0.00', error: { code: se.code, message: se.message } };
      }
    });
    return { status: 200, body: { orders: items } };
  }
  if (key === 'DELETE /portfolio/events/orders') {
    const ids = [...engine.orders.values()].filter((o) => o.owner === 'user' && o.status === 'resting').map((o) => o.orderId);
    for (const id of ids) engine.cancel(id);
    return { status: 200, body: { order_ids: ids } };
  }
  if (r.method === 'DELETE' && (g = m(/^\/portfolio\/events\/orders\/([^/]+)$/))) {
    const c = engine.cancel(decodeURIComponent(g[1]!));
    return { status: 200, body: { order_id: c.order.orderId, client_order_id: c.order.clientOrderId, reduced_by: formatCount(c.reducedBy), ts_ms: now } };
  }
  if (r.method === 'POST' && (g = m(/^\/portfolio\/events\/orders\/([^/]+)\/amend$/))) {
    const a = parse(AmendBody, r.body);
    const o = engine.amend(decodeURIComponent(g[1]!), a.updated_client_order_id ? { price: a.price, count: a.count, updatedClientOrderId: a.updated_client_order_id } : { price: a.price, count: a.count });
    return { status: 200, body: { order_id: o.orderId, client_order_id: o.clientOrderId, remaining_count: formatCount(o.remaining), fill_count: formatCount(o.filled), ts_ms: now } };
  }
  if (r.method === 'POST' && (g = m(/^\/portfolio\/events\/orders\/([^/]+)\/decrease$/))) {
    const d = parse(DecreaseBody, r.body);
    const o = engine.decrease(decodeURIComponent(g[1]!), d.reduce_to !== undefined ? { reduceTo: d.reduce_to } : { reduceBy: d.reduce_by! });
    return { status: 200, body: { order_id: o.orderId, client_order_id: o.clientOrderId, remaining_count: formatCount(o.remaining), ts_ms: now } };
  }
  if (key === 'GET /portfolio/orders') {
    const t = r.q.get('ticker');
    const evs = r.q.get('event_ticker')?.split(',');
    const st = r.q.get('status');
    const within = timeWindow(r.q);
    const list = userOrders(engine).filter((o) => (!t || o.ticker === t) && (!st || o.status === st) && within(o.createdMs)
      && (!evs || evs.includes(engine.markets.get(o.ticker)?.eventTicker ?? '')));
    const p = page(list, r.q);
    return { status: 200, body: { orders: p.items.map((o) => orderJson(o, ctx.fields)), cursor: p.cursor } };
  }
  if (r.method === 'GET' && (g = m(/^\/portfolio\/orders\/([^/]+)$/))) {
    const o = engine.orders.get(decodeURIComponent(g[1]!));
    if (!o || o.owner !== 'user') throw new SimError(404, 'not_found', 'order not found');
    return { status: 200, body: { order: orderJson(o, ctx.fields) } };
  }
  if (key === 'GET /portfolio/positions') {
    const t = r.q.get('ticker');
    const list = [...engine.positions.entries()].filter(([k, p]) => (!t || k === t) && (p.position !== 0 || p.traded !== 0));
    const p = page(list, r.q);
    return { status: 200, body: { market_positions: p.items.map(([k, pos]) => positionJson(k, pos, engine.markets.get(k)?.lastPrice ?? 0)), event_positions: [], cursor: p.cursor } };
  }
  if (key === 'GET /portfolio/fills') {
    const t = r.q.get('ticker');
    const oid = r.q.get('order_id');
    const within = timeWindow(r.q);
    const p = page(engine.userFills.filter((f) => (!t || f.ticker === t) && (!oid || f.orderId === oid) && within(f.tsMs)), r.q);
    return { status: 200, body: { fills: p.items.map((f) => fillJson(f, ctx.fields)), cursor: p.cursor } };
  }
  if (key === 'GET /portfolio/balance') {
    const cents = Math.floor(engine.cashMicro / 10_000);
    return { status: 200, body: { balance: cents, balance_dollars: formatCents(cents), portfolio_value: cents, updated_ts: Math.floor(now / 1000) } };
  }
  return err(404, 'not_found', `no route ${key}`);
}

function created(engine: SimEngine, b: z.infer<typeof CreateBody>, now: number): Record<string, unknown> {
  const o = engine.place({
    ticker: b.ticker, side: b.side, price: b.price, count: b.count, timeInForce: b.time_in_force,
    stp: b.self_trade_prevention_type, ...(b.client_order_id ? { clientOrderId: b.client_order_id } : {}), ...(b.post_only ? { postOnly: true } : {}),
  });
  return { order_id: o.orderId, client_order_id: o.clientOrderId, fill_count: formatCount(o.filled), remaining_count: formatCount(o.remaining), ts_ms: now };
}

const userOrders = (engine: SimEngine): SimOrder[] => [...engine.orders.values()].filter((o) => o.owner === 'user');
const marketsOf = (ctx: RestContext, ev: string) => [...ctx.engine.markets.values()].filter((x) => x.eventTicker === ev).map((x) => marketJson(ctx.engine, x));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
