import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { z } from 'zod';
import { nextKiteExpiry } from './session.ts';
import type { TokenRecord } from './token-file.ts';

export { writeTokenFile } from './token-file.ts';

/**
 * Kite's official login (docs/venues/kite.md, "Session"): the user opens the login URL in a
 * browser, Kite redirects to the app's registered redirect URL with a short-lived
 * `request_token`, and the app exchanges it at POST /session/token with
 * checksum = sha256(api_key + request_token + api_secret). No password or TOTP is handled here.
 * The token is written in the session manager's cache format, so `orch start` picks it up.
 */

export function kiteLoginUrl(loginRoot: string, apiKey: string): string {
  const u = new URL('/connect/login', loginRoot);
  u.searchParams.set('v', '3');
  u.searchParams.set('api_key', apiKey);
  return u.toString();
}

export function sessionChecksum(apiKey: string, requestToken: string, apiSecret: string): string {
  return createHash('sha256').update(apiKey + requestToken + apiSecret).digest('hex');
}

/** Listens on 127.0.0.1:`port` for the redirect that carries `request_token`; resolves with it. */
export function catchRequestToken(port: number): Promise<{ port: number; requestToken: Promise<string>; close: () => void }> {
  let server: Server;
  const requestToken = new Promise<string>((resolve) => {
    server = createServer((req, res) => {
      const token = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('request_token');
      if (!token) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('no request_token in this request\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('Kite login received; you can close this tab.\n');
      resolve(token);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      resolve({ port: bound, requestToken, close: () => server.close() });
    });
  });
}

const SessionReply = z.object({ status: z.literal('success'), data: z.looseObject({ access_token: z.string().min(1), user_id: z.string().min(1) }) });

/** POST /session/token; the error names Kite's message, never a secret. */
export async function exchangeRequestToken(o: { apiRoot: string; apiKey: string; apiSecret: string; requestToken: string; nowMs: number; fetch?: typeof fetch }): Promise<TokenRecord> {
  const body = new URLSearchParams({ api_key: o.apiKey, request_token: o.requestToken, checksum: sessionChecksum(o.apiKey, o.requestToken, o.apiSecret) });
  const res = await (o.fetch ?? fetch)(new URL('/session/token', o.apiRoot), {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-kite-version': '3' }, body,
  });
  const json: unknown = await res.json().catch(() => undefined);
  const parsed = SessionReply.safeParse(json);
  if (!res.ok || !parsed.success) {
    const msg = typeof json === 'object' && json && 'message' in json ? String((json as { message: unknown }).message) : `HTTP ${res.status}`;
    throw new Error(`Kite /session/token refused the request_token: ${msg}`);
  }
  return { accessToken: parsed.data.data.access_token, userId: parsed.data.data.user_id, expiresAt: nextKiteExpiry(o.nowMs) };
}
