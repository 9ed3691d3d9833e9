/**
 * The built-in Kite Connect v3 exchange: one HTTP server speaking Kite REST and, on upgrade,
 * the binary ticker WebSocket, over a seeded price path driven by an injected Clock.
 * The official `kiteconnect` client works against it unchanged (`root: sim.restUrl`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '../../actors/clock.ts';
import { createLogger, type Logger } from '../../actors/logger.ts';
import type { KiteSimObserver, SimContext, WebLoginAnswer } from './context.ts';
import { FaultState, type KiteFaults } from './faults.ts';
import { defaultInstruments, InstrumentIndex, type SimInstrument } from './instruments.ts';
import { Market } from './market.ts';
import type { KiteOrderRecord } from './order-wire.ts';
import { OrderEngine } from './orders.ts';
import { orderPushPayload, PostbackSender } from './postbacks.ts';
import { RestServer } from './rest-server.ts';
import type { KiteRateLimits } from './rate-limits.ts';
import { makeCredentials, SessionStore, type KiteSimCredentials } from './sessions.ts';
import { TickerServer } from './ticker-server.ts';


export type KiteSimOptions = {
  /** Default: the system clock. Tests pass a TestClock and advance it. */
  clock?: Clock;
  /** Default 127.0.0.1. */
  host?: string;
  /** One server for REST and the ticker upgrade; 0 (default) = a free port. */
  port?: number;
  /** Price path seed; same seed and same steps = same prices. Default 1. */
  seed?: number;
  /** Price step and tick broadcast period in Clock ms. Default 500. */
  tickIntervalMs?: number;
  /** 1-byte heartbeat period in Clock ms. Default 1000 (official ticker gives up after 5 s of silence). */
  heartbeatIntervalMs?: number;
  /** Missing fields are generated at random per start. */
  credentials?: Partial<KiteSimCredentials>;
  /** Where order postbacks go (JSON POST with checksum). */
  postbackUrl?: string;
  /** Default true. */
  enforceRateLimits?: boolean;
  /** Kite's figures (rate-limits.ts KITE_RATE_LIMITS); any of them overridden here. */
  rateLimits?: Partial<KiteRateLimits>;
  logger?: Logger;
  /**
   * How the web login answers the TOTP step (docs/venues/kite.md, "Session"): 'redirect' (default)
   * sends the browser to the app's redirect URL with request_token at once; 'json' answers JSON,
   * sets the session cookie, and the next visit to the login URL redirects to the app.
   */
  webLoginAnswer?: WebLoginAnswer;
  /** Benchmarks and tests: told synchronously what crosses the wire, with performance.now() times. */
  observer?: KiteSimObserver;
};

export type KiteSim = {
  /** e.g. http://127.0.0.1:PORT — pass as `root` to KiteConnect. */
  restUrl: string;
  /** e.g. ws://127.0.0.1:PORT/ws — pass as `root` to KiteTicker. */
  wsUrl: string;
  /** Login page for the api key (GET /connect/login?v=3&api_key=…). */
  loginUrl: string;
  credentials: KiteSimCredentials;
  instruments: SimInstrument[];
  faults: KiteFaults;
  /** A valid access token without the login flow (tests, paper trading). */
  issueAccessToken(): string;
  /**
   * Forgets every access token, as a restarted exchange does: the next REST call and ticker
   * handshake with an old token get 403 TokenException. Orders are kept.
   */
  forgetSessions(): void;
  /** Every order the exchange holds, latest state. */
  orders(): KiteOrderRecord[];
  setPostbackUrl(url: string | undefined): void;
  /** Force the last price of an instrument; resting orders and subscribers see it at once. */
  setPrice(instrumentToken: number, rupees: number): void;
  /** Moves several prices at once: one frame per socket carries them all (benchmarks). */
  setPrices(moves: readonly (readonly [instrumentToken: number, paise: number])[]): void;
  /** Open ticker sockets (for assertions). */
  tickerConnections(): number;
  close(): Promise<void>;
};

export async function startKiteSim(opts: KiteSimOptions = {}): Promise<KiteSim> {
  const clock = opts.clock ?? systemClock;
  const log = opts.logger ?? createLogger({ name: 'kite-sim' });
  const creds = makeCredentials(opts.credentials);
  const instruments = defaultInstruments();
  const index = new InstrumentIndex(instruments);
  const market = new Market(instruments, opts.seed ?? 1, clock.now());
  const sessions = new SessionStore(creds, clock);
  const faults = new FaultState(clock);
  const engine = new OrderEngine(clock, index, market, creds.userId, { depthCap: () => faults.marketDepthCap() });
  const postbacks = new PostbackSender(clock, log, creds.userId, creds.apiSecret, opts.postbackUrl);
  const ticker = new TickerServer(clock, log, sessions, index, market, faults, opts.heartbeatIntervalMs ?? 1000, opts.observer);

  engine.onOrder((order, kind) => {
    postbacks.onOrder(order, kind);
    // Kite sends no WebSocket order update for the placement itself (an order going OPEN or
    // TRIGGER PENDING), and its WebSocket frames carry a blank checksum (docs/venues/kite.md).
    if (kind === 'OPEN' || kind === 'TRIGGER PENDING') return;
    ticker.pushOrder(creds.apiKey, orderPushPayload(order, kind, creds.userId, undefined));
  });

  const ctx: SimContext = {
    clock, log, creds, sessions, index, market, engine, faults, postbacks, webLoginAnswer: opts.webLoginAnswer ?? 'redirect',
    priceMoved: (token) => {
      engine.onPrice(token);
      ticker.broadcastTicks();
    },
  };
  const rest = new RestServer(ctx, opts.enforceRateLimits ?? true, opts.observer, opts.rateLimits);

  const server: Server = createServer(rest.handle);
  // Like a production front end, idle connections live longer than the clients' (30 s).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('upgrade', (req, socket, head) => ticker.handleUpgrade(req, socket, head));
  // Upgraded and withheld sockets are ours to end: track them so close() never hangs.
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const restUrl = `http://${host}:${port}`;

  const stepper: TimerHandle = clock.setInterval(() => {
    market.step(clock.now());
    engine.onPrice();
    ticker.broadcastTicks();
  }, opts.tickIntervalMs ?? 500);

  log.info({ restUrl, userId: creds.userId }, 'kite sim listening');

  let closed = false;
  return {
    restUrl,
    wsUrl: `ws://${host}:${port}/ws`,
    loginUrl: `${restUrl}/connect/login?v=3&api_key=${encodeURIComponent(creds.apiKey)}`,
    credentials: creds,
    instruments,
    faults,
    issueAccessToken: () => sessions.issue().accessToken,
    forgetSessions: () => void sessions.forgetAll(),
    orders: () => engine.list(),
    setPostbackUrl: (url) => postbacks.setUrl(url),
    setPrice: (token, rupees) => {
      market.setPrice(token, Math.round(rupees * 100), clock.now());
      ctx.priceMoved(token);
    },
    setPrices: (moves) => {
      const now = clock.now();
      for (const [token, paise] of moves) {
        market.setPrice(token, paise, now);
        engine.onPrice(token);
      }
      ticker.broadcastTicks();
    },
    tickerConnections: () => ticker.connectionCount(),
    close: async () => {
      if (closed) return;
      closed = true;
      clock.clearInterval(stepper);
      engine.close();
      postbacks.close();
      rest.close();
      await ticker.close();
      const done = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}
