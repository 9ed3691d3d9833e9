import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A throwaway HTTP server for client tests: each request is recorded and handed to `handle`. */
export type Recorded = { method: string; url: URL; headers: IncomingMessage['headers']; body: string };
export type Handler = (req: Recorded, res: ServerResponse) => void;

export async function startHttp(handle: Handler): Promise<{ url: string; requests: Recorded[]; setHandler(h: Handler): void; close(): Promise<void> }> {
  const requests: Recorded[] = [];
  let current = handle;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec = { method: req.method ?? '', url: new URL(req.url ?? '/', 'http://x'), headers: req.headers, body: Buffer.concat(chunks).toString() };
      requests.push(rec);
      current(rec, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setHandler: (h) => (current = h),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
export const ok = (res: ServerResponse, data: unknown) => json(res, 200, { status: 'success', data });
export const fail = (res: ServerResponse, status: number, errorType: string, message = 'nope', headers: Record<string, string> = {}) =>
  json(res, status, { status: 'error', message, error_type: errorType, data: null }, headers);
