import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP relay in front of a built-in exchange, so a test can restart "the venue" as the
 * network sees it: every connection cut, the port refusing connections for a while, then
 * listening again on the same port with the exchange's state (orders, fills) intact, as a
 * real venue keeps its book across a restart of its front end.
 */
export type TcpProxy = {
  port: number;
  /** Replaces host:port of `url` by the proxy's. */
  via(url: string): string;
  restart(downMs: number): Promise<void>;
  close(): Promise<void>;
};

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const live = new Set<Socket>();
  const handler = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    live.add(client);
    live.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      live.delete(client);
      live.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const listen = (port: number): Promise<Server> => new Promise((resolve, reject) => {
    const s = createServer(handler);
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
  let server = await listen(0);
  const port = (server.address() as AddressInfo).port;
  const stop = () => new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const s of live) s.destroy();
    live.clear();
  });
  return {
    port,
    via: (url) => {
      const u = new URL(url);
      u.host = `127.0.0.1:${port}`;
      return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
    },
    restart: async (downMs) => {
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      server = await listen(port);
    },
    close: stop,
  };
}
