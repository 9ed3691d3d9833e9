import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { systemClock, type Clock } from '../../actors/clock.ts';
import { SimAuth } from './auth.ts';
import { SimEngine, type SimFill, type SimOrder } from './engine.ts';
import { FaultState, type KalshiFaults } from './faults.ts';
import { makeDemoKey } from './keys.ts';
import { SimRateLimits, type SimTier } from './limits.ts';
import { handleRest, REST_PREFIX, type RestContext } from './rest.ts';
import { SERIES, seedExchange } from './seed.ts';
import { SimWs } from './ws.ts';
import type { FieldSet } from './wire.ts';


export const WS_PATH = '/trade-api/ws/v2';

export type KalshiSim = {
  /** http://127.0.0.1:P/trade-api/v2 */
  restUrl: string;
  /** ws://127.0.0.1:P/trade-api/ws/v2 */
  wsUrl: string;
  keyId: string;
  /** generated at start, file mode 0600 */
  privateKeyPath: string;
  markets: string[];
  faults: KalshiFaults;
  /** API-placed orders (the seeded market makers' are not included) */
  orders(): SimOrder[];
  fills(): SimFill[];
  /** The matching engine, for tests that move the market (e.g. a counterparty order). */
  engine: SimEngine;
  close(): Promise<void>;
};

export type KalshiSimOptions = {
  clock?: Clock;
  host?: string;
  /** 0 = any free port */
  port?: number;
  seed?: number;
  tier?: SimTier;
  keyDir?: string;
  /** Order direction fields on fills, trades and orders: 'current' (default), 'legacy' or 'both'. */
  fields?: FieldSet;
};

/** The built-in Kalshi exchange: trade-api v2 REST + WS v2 on one port. */
export async function startKalshiSim(opts: KalshiSimOptions = {}): Promise<KalshiSim> {
  const clock = opts.clock ?? systemClock;
  const host = opts.host ?? '127.0.0.1';
  const engine = new SimEngine(clock);
  const seeded = seedExchange(engine, opts.seed ?? 42, clock.now());
  const key = makeDemoKey(opts.keyDir);
  const auth = new SimAuth(new Map([[key.keyId, key.publicKey]]), clock);
  const faults = new FaultState(clock);
  const fields = opts.fields ?? 'current';
  const ws = new SimWs(engine, clock, faults, fields);
  const withheld = new Set<ServerResponse>();
  const ctx: RestContext = {
    engine, clock, faults, limits: new SimRateLimits(clock, opts.tier ?? 'basic'), auth,
    events: seeded.events, series: SERIES, withheld, fields,
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? host}`);
    if (!url.pathname.startsWith(REST_PREFIX + '/')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'not found' } }));
      return;
    }
    handleRest(ctx, req, res, url).catch((e) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'internal', message: String(e) } }));
    });
  });
  // Like a production front end, idle connections live longer than the clients' (30 s).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    const verdict = url.pathname === WS_PATH ? auth.check(req.headers, 'GET', WS_PATH) : { ok: false as const, reason: 'not found' };
    if (verdict.ok !== true) {
      const status = url.pathname === WS_PATH ? '401 Unauthorized' : '404 Not Found';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    ws.wss.handleUpgrade(req, socket, head, (client) => ws.wss.emit('connection', client, req));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const faultApi: KalshiFaults = {
    dropSockets: () => ws.drop(),
    stallSockets: (ms) => ws.stall(ms),
    skipSequence: () => { faults.skipSeq++; },
    failSubscriptions: (code) => ws.failSubscriptions(code),
    rateLimitStorm: (ms) => { faults.stormUntil = clock.now() + ms; },
    acceptThenTimeout: (n) => { faults.swallowWrites += n; },
    failNext: (n, status) => { faults.failCount = n; faults.failStatus = status; },
  };

  return {
    restUrl: `http://${host}:${port}${REST_PREFIX}`,
    wsUrl: `ws://${host}:${port}${WS_PATH}`,
    keyId: key.keyId,
    privateKeyPath: key.privateKeyPath,
    markets: seeded.markets,
    faults: faultApi,
    engine,
    orders: () => [...engine.orders.values()].filter((o) => o.owner === 'user').map((o) => ({ ...o })),
    fills: () => engine.userFills.map((f) => ({ ...f })),
    close: async () => {
      ws.close();
      for (const res of withheld) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (key.ownsDir) rmSync(key.dir, { recursive: true, force: true });
    },
  };
}
