import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export type HealthReport = { ok: boolean; [k: string]: unknown };

/** The one Prometheus endpoint (/metrics) and the liveness check (/healthz). */
export async function startHttp(opts: { host: string; port: number; registry: Pick<Registry, 'metrics' | 'contentType'>; health: () => Promise<HealthReport> | HealthReport }): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      try {
        if (req.method === 'GET' && req.url === '/metrics') {
          const body = await opts.registry.metrics();
          res.writeHead(200, { 'content-type': opts.registry.contentType });
          res.end(body);
        } else if (req.method === 'GET' && req.url === '/healthz') {
          const h = await opts.health();
          res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify(h));
        } else {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('not found\n');
        }
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`error: ${(e as Error).message}\n`);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    server,
    url: `http://${opts.host}:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
