import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP relay between one broker and the Kite REST API of the built-in exchange, counting the
 * order writes (POST, PUT, DELETE under /orders) that pass through it. One tap per broker process
 * tells which broker wrote to the venue, and when: the exchange's order book does not say.
 */
export type VenueTap = {
  /** The root to give the broker as KITE_API_ROOT. */
  url: string;
  /** Order writes relayed so far, each with the time its request arrived. */
  writes(): readonly { at: number; method: string; path: string }[];
  close(): Promise<void>;
};

const isOrderWrite = (req: IncomingMessage) => req.method !== 'GET' && req.method !== 'HEAD' && /\/orders(\/|$|\?)/.test(req.url ?? '');

export async function startVenueTap(target: string): Promise<VenueTap> {
  const upstream = new URL(target);
  const writes: { at: number; method: string; path: string }[] = [];
  const server: Server = createServer((req, res) => {
    if (isOrderWrite(req)) writes.push({ at: Date.now(), method: req.method!, path: req.url! });
    const out = request({
      host: upstream.hostname, port: upstream.port, method: req.method, path: req.url,
      headers: { ...req.headers, host: upstream.host },
    }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    // The broker sees what it would see of a venue gone away: a reset connection.
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname.replace(/\/$/, '')}`,
    writes: () => writes,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
