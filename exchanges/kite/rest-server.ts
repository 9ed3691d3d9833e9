/**
 * The request pipeline, in the order a real gateway applies it: Kite version header →
 * injected failures → rate limits (and 429 storms) → session → handler. Order writes may
 * be applied and then left unanswered (acceptThenTimeout).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KiteSimObserver, SimContext } from './context.ts';
import { KiteHttpError } from './errors.ts';
import { errorReply, json, readBody, Router, writeReply, type SimReply, type SimRequest } from './http-kit.ts';
import { CalendarRateLimiter, type KiteRateLimits } from './rate-limits.ts';
import { addHistoricalRoutes } from './routes-historical.ts';
import { addMarketRoutes } from './routes-market.ts';
import { addOrderRoutes } from './routes-orders.ts';
import { addPortfolioRoutes } from './routes-portfolio.ts';
import { addSessionRoutes } from './routes-session.ts';
import { addSimRoutes } from './routes-sim.ts';

const tooManyRequests = (retryAfterSec: number) =>
  new KiteHttpError(429, 'NetworkException', 'Too many requests', { 'retry-after': String(retryAfterSec) });

export class RestServer {
  private readonly router = new Router();
  private readonly limiter: CalendarRateLimiter;
  /** Responses held back by acceptThenTimeout; destroyed on close. */
  private readonly withheld = new Set<ServerResponse>();

  constructor(private readonly ctx: SimContext, private readonly enforceRateLimits: boolean, private readonly observer?: KiteSimObserver, rateLimits?: Partial<KiteRateLimits>) {
    this.limiter = new CalendarRateLimiter(rateLimits);
    addSessionRoutes(this.router, ctx);
    addOrderRoutes(this.router, ctx);
    addMarketRoutes(this.router, ctx);
    addHistoricalRoutes(this.router, ctx);
    addPortfolioRoutes(this.router, ctx);
    addSimRoutes(this.router, ctx);
  }

  handle = (raw: IncomingMessage, res: ServerResponse): void => {
    this.process(raw, res).catch((err: unknown) => {
      this.ctx.log.error({ err: (err as Error).message }, 'kite sim request crashed');
      if (!res.headersSent) writeReply(res, json(500, new KiteHttpError(500, 'GeneralException', 'Internal error').envelope()));
      else res.destroy();
    });
  };

  close(): void {
    for (const res of this.withheld) res.destroy();
    this.withheld.clear();
  }

  private async process(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = performance.now();
    const url = new URL(raw.url ?? '/', 'http://sim');
    const method = (raw.method ?? 'GET').toUpperCase();
    const { route, params, allowed } = this.router.match(method, url.pathname);
    if (!route) {
      const e = allowed.length
        ? new KiteHttpError(405, 'InputException', `Method ${method} not allowed.`, { allow: allowed.join(', ') })
        : new KiteHttpError(404, 'GeneralException', 'Route not found');
      raw.resume();
      return writeReply(res, errorReply(e));
    }
    let reply: SimReply;
    try {
      const body = await readBody(raw);
      this.observer?.requestReceived?.({ method, path: url.pathname, body, at });
      const req: SimRequest = { method, path: url.pathname, query: url.searchParams, body, headers: raw.headers, params, raw };
      const meta = route.meta;
      if (meta.kind === 'public' || meta.kind === 'api') this.gate(req, meta.rate, meta.orderWrite === true);
      if (meta.kind === 'api') req.session = this.ctx.sessions.fromAuthHeader(raw.headers.authorization);
      reply = await route.handler(req);
      if (meta.orderWrite && reply.kind === 'send' && reply.status < 300 && this.ctx.faults.takeWithhold()) reply = { kind: 'withhold' };
    } catch (err) {
      if (!(err instanceof KiteHttpError)) throw err;
      reply = errorReply(err);
    }
    if (reply.kind === 'withhold') {
      // The write is applied; the answer never comes. The client's own timeout ends it.
      this.withheld.add(res);
      res.on('close', () => this.withheld.delete(res));
      return;
    }
    writeReply(res, reply);
    this.observer?.responseSent?.({ method, path: url.pathname, status: reply.status });
  }

  /** Throws the error a real gateway would answer before reaching the handler. */
  private gate(req: SimRequest, rate: Parameters<CalendarRateLimiter['admit']>[1], orderWrite: boolean): void {
    if (req.headers['x-kite-version'] !== '3') {
      throw new KiteHttpError(400, 'InputException', 'Missing or invalid `X-Kite-Version` header: this API speaks version 3.');
    }
    const fail = this.ctx.faults.takeFailure();
    if (fail) throw new KiteHttpError(fail.status, fail.errorType, fail.message);
    if (orderWrite) {
      const storm = this.ctx.faults.stormRetryAfterSec();
      if (storm !== undefined) throw tooManyRequests(storm);
    }
    if (!this.enforceRateLimits) return;
    const key = /^token ([^:\s]+):/.exec(req.headers.authorization ?? '')?.[1] ?? req.raw.socket.remoteAddress ?? 'anon';
    const decision = this.limiter.admit(key, rate, this.ctx.clock.now());
    if (!decision.ok) throw tooManyRequests(decision.retryAfterSec);
  }
}
