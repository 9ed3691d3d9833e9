/**
 * A deliberately small HTTP layer: Kite's surface is a few dozen fixed routes, and owning the
 * parsing lets the sim reproduce wire details (exact content types, withheld responses).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ZodType } from 'zod';
import { KiteHttpError, zodToInputError } from './errors.ts';
import type { RateClass } from './rate-limits.ts';
import type { Session } from './sessions.ts';

/**
 * How the pipeline treats a route: `browser` = login pages (no Kite headers, no faults),
 * `public` = Kite API without a session (POST /session/token), `api` = authenticated Kite API,
 * `sim` = the sim's own control surface.
 */
export type RouteMeta = { kind: 'browser' | 'public' | 'api' | 'sim'; rate: RateClass; orderWrite?: boolean };

export type SimRequest = {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Form or JSON body flattened to strings (last value wins for repeated form keys). */
  body: Record<string, unknown>;
  headers: IncomingMessage['headers'];
  params: Record<string, string>;
  raw: IncomingMessage;
  /** Set by the pipeline for `api` routes. */
  session?: Session;
};

export type SendReply = { kind: 'send'; status: number; headers: Record<string, string>; body: string };
/** `withhold`: the write is applied, no answer is sent; the client must time out (acceptThenTimeout). */
export type SimReply = SendReply | { kind: 'withhold' };

export type Handler = (req: SimRequest) => SimReply | Promise<SimReply>;

export function json(status: number, payload: unknown, headers: Record<string, string> = {}): SendReply {
  return { kind: 'send', status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) };
}
export const ok = (data: unknown): SendReply => json(200, { status: 'success', data });
export const errorReply = (e: KiteHttpError): SendReply => json(e.status, e.envelope(), e.headers);
/** Exactly `text/csv`: the JS client only parses the CSV when the header matches verbatim. */
export const csv = (text: string): SendReply => ({ kind: 'send', status: 200, headers: { 'content-type': 'text/csv' }, body: text });
export const html = (status: number, text: string): SendReply => ({ kind: 'send', status, headers: { 'content-type': 'text/html; charset=utf-8' }, body: text });
export const redirect = (location: string): SendReply => ({ kind: 'send', status: 302, headers: { location }, body: '' });

export function validate<T>(schema: ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (!r.success) throw zodToInputError(r.error);
  return r.data;
}

export async function readBody(req: IncomingMessage, limitBytes = 1 << 20): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limitBytes) throw new KiteHttpError(413, 'InputException', 'Request body too large');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  const type = String(req.headers['content-type'] ?? '');
  if (type.includes('application/json')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
      return { _: parsed };
    } catch {
      throw new KiteHttpError(400, 'InputException', 'Invalid JSON body');
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** A malformed %-escape is the client's problem: keep the raw text and let validation refuse it. */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export type Route = { method: string; pattern: RegExp; keys: string[]; handler: Handler; meta: RouteMeta };

export class Router {
  private readonly routes: Route[] = [];
  add(method: string, path: string, meta: RouteMeta, handler: Handler): this {
    const keys: string[] = [];
    const pattern = new RegExp(
      '^' + path.replace(/:([a-z_]+)/g, (_m, k: string) => (keys.push(k), '([^/]+)')) + '/?$',
    );
    this.routes.push({ method, pattern, keys, handler, meta });
    return this;
  }
  /** The route for a request, or undefined; `allowed` lists methods the path does support (405). */
  match(method: string, path: string): { route?: Route; params: Record<string, string>; allowed: string[] } {
    const allowed: string[] = [];
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      if (r.method !== method) {
        allowed.push(r.method);
        continue;
      }
      const params: Record<string, string> = {};
      r.keys.forEach((k, idx) => (params[k] = safeDecode(m[idx + 1] ?? '')));
      return { route: r, params, allowed };
    }
    return { params: {}, allowed };
  }
}

export function writeReply(res: ServerResponse, reply: SendReply): void {
  res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
  res.end(reply.body);
}
