import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Logger } from '../../actors/logger.ts';
import { metrics } from '../../actors/metrics.ts';
import { OrderSchema, type KiteOrder } from './schemas.ts';

/**
 * Kite's postback webhook, served by the broker on its own small HTTP server (not the /metrics
 * one: the webhook must be reachable from Kite, usually through a reverse proxy, and the
 * metrics must not be). Kite signs each postback with
 *   checksum = hex SHA-256(order_id + order_timestamp + api_secret);
 * a postback whose checksum does not match is answered 400 and changes nothing.
 */

export const POSTBACK_PATH = '/kite/postback';
const MAX_BODY_BYTES = 64 * 1024;

export const PostbackSchema = OrderSchema.extend({
  order_timestamp: z.string().min(1),
  checksum: z.string().regex(/^[0-9a-fA-F]{64}$/, 'a hex SHA-256'),
  user_id: z.string().min(1).optional(),
});
export type KitePostback = z.infer<typeof PostbackSchema>;

export function postbackChecksum(orderId: string, orderTimestamp: string, apiSecret: string): string {
  return createHash('sha256').update(orderId + orderTimestamp + apiSecret).digest('hex');
}

export type PostbackCheck =
  | { ok: true; order: KiteOrder }
  | { ok: false; result: 'invalid' | 'bad_checksum' | 'wrong_user'; reason: string };

/** Pure: the body (already JSON-parsed) is a genuine postback for this account, or why not. */
export function checkPostback(body: unknown, apiSecret: string, userId?: string): PostbackCheck {
  const parsed = PostbackSchema.safeParse(body);
  if (!parsed.success) {
    return { ok: false, result: 'invalid', reason: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') };
  }
  const p = parsed.data;
  const want = Buffer.from(postbackChecksum(p.order_id, p.order_timestamp, apiSecret), 'hex');
  const got = Buffer.from(p.checksum, 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, result: 'bad_checksum', reason: 'checksum does not match' };
  if (userId !== undefined && p.user_id !== undefined && p.user_id !== userId) return { ok: false, result: 'wrong_user', reason: 'postback for another user' };
  return { ok: true, order: p };
}

export type PostbackServerOptions = {
  host: string;
  /** 0 = a free port. */
  port: number;
  apiSecret: string;
  /** When set, postbacks naming another user are refused. */
  userId?: string;
  /** Receives each verified order; runs before the 200 goes out. */
  onOrder: (order: KiteOrder) => void;
  log: Logger;
};

export type PostbackServer = { url: string; close(): Promise<void> };

export async function startPostbackServer(o: PostbackServerOptions): Promise<PostbackServer> {
  const answer = (res: ServerResponse, status: number, result: string, message: string) => {
    metrics.kitePostbacksTotal.inc({ result });
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(status < 300 ? { status: 'success' } : { status: 'error', message }));
  };
  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      o.log.error({ err: (err as Error).message }, 'kite postback handler failed');
      if (!res.headersSent) answer(res, 500, 'error', 'internal error');
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== POSTBACK_PATH) {
      req.resume();
      return answer(res, 404, 'not_found', 'not found');
    }
    if (req.method !== 'POST') {
      req.resume();
      res.setHeader('allow', 'POST');
      return answer(res, 405, 'bad_method', 'POST only');
    }
    const body = await readLimited(req, MAX_BODY_BYTES);
    if (body === undefined) return answer(res, 413, 'too_large', `body over ${MAX_BODY_BYTES} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return answer(res, 400, 'invalid', 'body is not JSON');
    }
    const check = checkPostback(json, o.apiSecret, o.userId);
    if (!check.ok) {
      // Only the order id: the body is attacker-controlled and the checksum is not ours to log.
      const orderId = typeof (json as { order_id?: unknown })?.order_id === 'string' ? (json as { order_id: string }).order_id.slice(0, 32) : undefined;
      o.log.warn({ result: check.result, orderId, reason: check.reason, from: req.socket.remoteAddress }, 'kite postback refused');
      return answer(res, 400, check.result, check.reason);
    }
    o.onOrder(check.order);
    answer(res, 200, 'accepted', 'ok');
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}${POSTBACK_PATH}`,
    close: () => new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
  };
}

/** The body as text, or undefined once it passes `max` bytes (the rest is not read). */
function readLimited(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > max) {
        over = true;
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => over || resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
