import type { ZodType } from 'zod';
import type { Clock } from '../../actors/clock.ts';
import type { Logger } from '../../actors/logger.ts';
import type { RateLimiter, Priority } from '../limiter/types.ts';
import { VenueError } from '../venue-errors.ts';
import { nextBackoff, REQUEST_BACKOFF, type BackoffPolicy } from '../connection/backoff.ts';
import { authHeaders, type KalshiCredentials } from './signing.ts';
import { keepAliveFetch, type HttpFetch } from '../http-transport.ts';
import { badResponse, httpError, networkError, timeoutError, VENUE } from './errors.ts';
import { headroomWarnings, KalshiCosts, metrics, overHeadroom, parseRetryAfter, type KalshiCategory } from './ratelimit.ts';

export type FetchFn = HttpFetch;

export type KalshiHttpOptions = {
  /** e.g. https://external-api.kalshi.com/trade-api/v2 — the prefix is part of what is signed. */
  baseUrl: string;
  credentials?: KalshiCredentials;
  limiter: RateLimiter;
  clock: Clock;
  logger: Logger;
  fetch?: FetchFn;
  timeoutMs?: number;
  random?: () => number;
  /** 429s are retried this many times before the caller sees RateLimited. */
  maxRateLimitRetries?: number;
  /** Tokens per request (shared with whoever reads the account's costs); default the documented fallback. */
  costs?: KalshiCosts;
};

export type Query = Record<string, string | number | boolean | undefined>;

export type Call<T> = {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Query;
  body?: unknown;
  schema: ZodType<T>;
  category: KalshiCategory;
  priority: Priority;
  /** a batch: billed per item */
  items?: number;
};

const DEFAULT_TIMEOUT_MS = 5_000;
const RETRY_BACKOFF: BackoffPolicy = REQUEST_BACKOFF;
/** A 429 without a usable Retry-After starts at twice the request backoff. */
const RATE_LIMIT_BACKOFF: BackoffPolicy = { ...REQUEST_BACKOFF, baseMs: 500 };

/**
 * One signed, rate-limited, schema-checked HTTP call. Reads are retried per the shared error
 * policy; writes are never retried here except after a 429 (the exchange refused them, so
 * they cannot have landed) — whether a failed write landed is the order layer's question.
 */
export class KalshiHttp {
  private readonly fetchFn: FetchFn;
  private readonly timeoutMs: number;
  private readonly random: () => number;
  private readonly maxRateLimitRetries: number;
  private readonly warnings = headroomWarnings();
  readonly costs: KalshiCosts;
  /** categories now past the warning line, so a busy second warns once, not per call */
  private readonly straining = new Set<string>();

  constructor(private readonly opts: KalshiHttpOptions) {
    this.fetchFn = opts.fetch ?? keepAliveFetch;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.random = opts.random ?? Math.random;
    this.maxRateLimitRetries = opts.maxRateLimitRetries ?? 5;
    this.costs = opts.costs ?? new KalshiCosts();
    if (!/\/trade-api\/v2\/?$/.test(opts.baseUrl)) {
      throw new Error(`kalshi baseUrl must end in /trade-api/v2 (it is part of the signed path): ${opts.baseUrl}`);
    }
  }

  async request<T>(call: Call<T>): Promise<T> {
    const isRead = call.method === 'GET';
    let rateLimited = 0;
    for (let attempt = 0; ; attempt++) {
      const settle = await this.opts.limiter.acquire(call.category, { priority: call.priority, cost: this.costs.of(call.method, call.path, call.items) });
      this.checkHeadroom(call);
      let res: Response;
      try {
        res = await this.send(call);
      } catch (e) {
        settle();
        const err = e instanceof VenueError ? e : networkError(e);
        if (isRead && attempt < err.policy.maxRetries) {
          await this.opts.clock.sleep(nextBackoff(attempt, this.random, RETRY_BACKOFF));
          continue;
        }
        throw err;
      }
      settle(); // answered: the venue has counted it (broker/limiter/README.md)
      if (res.status === 429) {
        const wait = parseRetryAfter(res.headers.get('retry-after'), this.opts.clock.now())
          ?? nextBackoff(rateLimited, this.random, RATE_LIMIT_BACKOFF);
        this.opts.limiter.pauseUntil(call.category, this.opts.clock.now() + wait);
        metrics().venue429Total.inc({ venue: VENUE });
        this.opts.logger.warn({ venue: VENUE, path: call.path, waitMs: wait, attempt: rateLimited }, 'kalshi 429: bucket paused');
        await drain(res);
        if (rateLimited++ < this.maxRateLimitRetries) continue;
        throw httpError(429, { error: 'too many requests' }, wait);
      }
      const body = await readJson(res);
      if (!res.ok) {
        const err = httpError(res.status, body);
        if (isRead && err.policy.action === 'retry' && attempt < err.policy.maxRetries) {
          await this.opts.clock.sleep(nextBackoff(attempt, this.random, RETRY_BACKOFF));
          continue;
        }
        throw err;
      }
      const parsed = call.schema.safeParse(body);
      if (!parsed.success) throw badResponse(call.path, parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      return parsed.data;
    }
  }

  url(path: string, query?: Query): string {
    const u = new URL(this.opts.baseUrl.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
    return u.toString();
  }

  private async send(call: Call<unknown>): Promise<Response> {
    const url = this.url(call.path, call.query);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.credentials) Object.assign(headers, authHeaders(this.opts.credentials, call.method, url, this.opts.clock.now()));
    const init: RequestInit = { method: call.method, headers };
    if (call.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(call.body);
    }
    const ctrl = new AbortController();
    init.signal = ctrl.signal;
    let timedOut = false;
    const timer = this.opts.clock.setTimeout(() => {
      timedOut = true;
      ctrl.abort();
    }, this.timeoutMs);
    try {
      const res = await this.fetchFn(url, init);
      // Read the body under the same deadline: a withheld body is as good as a withheld response.
      const text = await res.text();
      return new Response(text === '' ? null : text, { status: res.status, headers: res.headers });
    } catch (e) {
      if (timedOut) throw timeoutError(this.timeoutMs);
      throw networkError(e);
    } finally {
      this.opts.clock.clearTimeout(timer);
    }
  }

  /** Kalshi sends no rate-limit headers: the limiter's own count of the account's bucket says how close we are. */
  private checkHeadroom(call: Call<unknown>): void {
    const b = this.opts.limiter.snapshot().find((x) => x.category === call.category);
    if (!b || !overHeadroom(b)) {
      this.straining.delete(call.category);
      return;
    }
    if (this.straining.has(call.category)) return;
    this.straining.add(call.category);
    this.warnings.inc({ venue: VENUE });
    this.opts.logger.warn({ venue: VENUE, category: call.category, tokens: b.tokens, capacity: b.capacity }, 'kalshi rate-limit headroom below 20%');
  }
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function drain(res: Response): Promise<void> {
  await res.text().catch(() => undefined);
}
