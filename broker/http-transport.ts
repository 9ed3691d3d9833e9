import http from 'node:http';
import https from 'node:https';

/**
 * The venue REST clients' HTTP transport: `fetch`'s shape over node:http with keep-alive
 * agents. Order writes sit on the tick-to-order path, and undici's fetch costs about three
 * times a plain keep-alive request on this hop (see `npm run bench`). Errors keep node's
 * socket codes (ECONNREFUSED, ECONNRESET...) so a refused connection stays distinguishable
 * from one that may have delivered the request.
 */
export type HttpResponse = { status: number; headers: Headers; text(): Promise<string> };
export type HttpFetch = (url: string, init: RequestInit) => Promise<HttpResponse>;

/**
 * An idle socket is closed by us after 30 s, before a server's keep-alive timeout closes it
 * under a request we just wrote on it: that race is an ECONNRESET on a place, which the broker
 * must treat as possibly delivered and look up. Servers keep idle connections 60 s or more
 * (nginx 75 s, load balancers 60 s; the built-in exchanges 65 s).
 */
const IDLE_SOCKET_MS = 30_000;

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 32, keepAliveMsecs: 10_000, timeout: IDLE_SOCKET_MS }),
  https: new https.Agent({ keepAlive: true, maxSockets: 32, keepAliveMsecs: 10_000, timeout: IDLE_SOCKET_MS }),
};

export const keepAliveFetch: HttpFetch = (input, init) =>
  new Promise<HttpResponse>((resolve, reject) => {
    const url = new URL(input);
    const secure = url.protocol === 'https:';
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return reject(abortError(signal));
    const headers = flatHeaders(init.headers);
    if (init.body !== undefined && init.body !== null && typeof init.body !== 'string') {
      return reject(new TypeError('keepAliveFetch: only string bodies are supported'));
    }
    const body = init.body ?? undefined;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const req = (secure ? https : http).request(url, { method: init.method ?? 'GET', headers, agent: secure ? agents.https : agents.http }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        const status = res.statusCode ?? 0;
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined) continue;
          if (Array.isArray(v)) for (const x of v) h.append(k, x);
          else h.set(k, v);
        }
        const text = Buffer.concat(chunks).toString('utf8');
        // The body is already read (under the caller's deadline); a Response stream would only add cost.
        resolve({ status, headers: h, text: () => Promise.resolve(text) });
      });
    });
    const onAbort = () => req.destroy(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    req.end(body);
  });

function abortError(signal: AbortSignal): Error {
  const e = new Error('request aborted', { cause: signal.reason });
  e.name = 'AbortError';
  return e;
}

function flatHeaders(h: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  const entries = h instanceof Headers ? [...h.entries()] : Array.isArray(h) ? h : Object.entries(h);
  for (const [k, v] of entries) out[k.toLowerCase()] = String(v);
  return out;
}
