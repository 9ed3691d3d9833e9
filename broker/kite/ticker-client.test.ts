import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { TestClock } from '../../actors/clock.ts';
import { KiteTickerClient, type TickerEvents } from './ticker-client.ts';
import { nseCashMarketOpen } from './market-hours.ts';
import { HEARTBEAT, encodeFrame } from './ticker-codec.ts';
import type { Tick } from './ticker-parser.ts';
import { eventually } from '../../test/support/wait.ts';

type Peer = { ws: WebSocket; url: URL; headers: Record<string, string | string[] | undefined>; received: unknown[] };

async function startWs(port = 0) {
  const wss = new WebSocketServer({ port, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const peers: Peer[] = [];
  wss.on('connection', (ws, req) => {
    const peer: Peer = { ws, url: new URL(req.url ?? '/', 'ws://x'), headers: req.headers, received: [] };
    ws.on('message', (d) => {
      peer.received.push(JSON.parse(d.toString()));
    });
    peers.push(peer);
  });
  return {
    port: (wss.address() as AddressInfo).port,
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    peers,
    until: (cond: () => boolean, what: string) => eventually(cond, what, 3_000),
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}

const quote = (token: number, lastPrice: number): Tick => ({
  kind: 'quote', instrumentToken: token, divisor: 100, lastPrice, lastTradedQuantity: 1, averageTradedPrice: lastPrice,
  volumeTraded: 1, totalBuyQuantity: 1, totalSellQuantity: 1, ohlc: { open: 1, high: 1, low: 1, close: 1 },
});

function record(client: KiteTickerClient) {
  const log: string[] = [];
  const ticks: Tick[] = [];
  const payloads: { [K in keyof TickerEvents]?: TickerEvents[K][] } = {};
  for (const ev of ['disconnected', 'reconnected', 'reconcile', 'order', 'venueError', 'problem'] as const) {
    client.events.on(ev, (...a: unknown[]) => {
      log.push(ev);
      ((payloads[ev] ??= []) as unknown[][]).push(a);
    });
  }
  client.events.on('ticks', (t) => ticks.push(...t));
  return { log, ticks, payloads };
}

async function setup(opts: { marketOpen?: boolean; perConnection?: number } = {}) {
  const server = await startWs();
  const clock = new TestClock();
  let token = 'tok-1';
  const client = new KiteTickerClient({
    url: server.url, apiKey: 'key1', getAccessToken: () => token, clock, random: () => 0.5,
    isMarketOpen: () => opts.marketOpen ?? true, ...(opts.perConnection ? { perConnection: opts.perConnection } : {}),
  });
  return { server, clock, client, setToken: (t: string) => (token = t), rec: record(client) };
}

/** Advances the test clock in steps, letting real socket I/O run in between. */
async function advance(clock: TestClock, ms: number, step = 250): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advance(Math.min(step, ms - t));
    await new Promise((r) => setTimeout(r, 1));
  }
}

test('connects with api_key and access_token in the query and the Kite version header', async () => {
  const { server, client } = await setup();
  try {
    client.start();
    assert.deepEqual(client.state, { kind: 'connecting' });
    await server.until(() => server.peers.length === 1, 'connection');
    const p = server.peers[0]!;
    assert.equal(p.url.searchParams.get('api_key'), 'key1');
    assert.equal(p.url.searchParams.get('access_token'), 'tok-1');
    assert.equal(p.headers['x-kite-version'], '3');
    await server.until(() => client.state.kind === 'open', 'open');
  } finally {
    client.close();
    await server.close();
  }
});

test('subscriptions are sent with their mode, and mode changes follow the references', async () => {
  const { server, client } = await setup();
  try {
    client.start();
    await server.until(() => client.state.kind === 'open', 'open');
    client.subscribe([408065], 'quote');
    client.subscribe([408065], 'full');
    client.unsubscribe([408065], 'full');
    client.unsubscribe([408065], 'quote');
    const p = server.peers[0]!;
    await server.until(() => p.received.length === 5, 'five control messages');
    assert.deepEqual(p.received, [
      { a: 'subscribe', v: [408065] },
      { a: 'mode', v: ['quote', [408065]] },
      { a: 'mode', v: ['full', [408065]] },
      { a: 'mode', v: ['quote', [408065]] },
      { a: 'unsubscribe', v: [408065] },
    ]);
  } finally {
    client.close();
    await server.close();
  }
});

test('ticks and order updates reach listeners; heartbeats and bad frames do not become ticks', async () => {
  const { server, client, rec } = await setup();
  try {
    client.subscribe([408065], 'quote'); // before start: sent on open
    client.start();
    await server.until(() => server.peers[0]?.received.length === 2, 'subscribe on open');
    const ws = server.peers[0]!.ws;
    ws.send(HEARTBEAT);
    ws.send(encodeFrame([quote(408065, 157315)]));
    ws.send(Buffer.from([0, 1, 0, 13, 1, 2, 3]));
    ws.send('{"type":"order","data":{"order_id":"1914227164488687616","status":"COMPLETE","filled_quantity":1}}');
    ws.send('{"type":"order","data":{"order_id":"1914227164488687616","status":"COMPLETE","filled_quantity":1}}');
    ws.send('{"type":"error","data":"too many subscriptions"}');
    await server.until(() => rec.log.includes('venueError'), 'error frame');
    assert.deepEqual(rec.ticks, [quote(408065, 157315)]);
    assert.deepEqual(rec.log, ['problem', 'order', 'venueError'], 'the duplicate order update is passed on once');
    assert.equal((rec.payloads.order![0]![0] as { order_id: string }).order_id, '1914227164488687616');
  } finally {
    client.close();
    await server.close();
  }
});

test('a dropped socket: disconnected, backoff, reconnect with a fresh token, resubscribe in mode, reconnected, reconcile', async () => {
  const { server, client, clock, rec, setToken } = await setup();
  try {
    client.subscribe([1, 2], 'ltp');
    client.subscribe([2], 'full');
    client.subscribe([3], 'quote');
    client.start();
    await server.until(() => client.state.kind === 'open', 'open');
    const t0 = clock.now();
    server.peers[0]!.ws.terminate();
    await server.until(() => rec.log.includes('disconnected'), 'disconnected');
    assert.deepEqual(client.state, { kind: 'disconnected', since: t0 });
    setToken('tok-2');
    // Full jitter under 1 s (broker/connection/backoff.ts): 500 ms with this random source.
    await advance(clock, 499);
    assert.equal(server.peers.length, 1, 'no reconnect before the backoff');
    await advance(clock, 1);
    await server.until(() => rec.log.includes('reconcile'), 'reconcile');
    assert.deepEqual(rec.log, ['disconnected', 'reconnected', 'reconcile']);
    const p2 = server.peers[1]!;
    assert.equal(p2.url.searchParams.get('access_token'), 'tok-2');
    await server.until(() => p2.received.length === 4, 'resubscription');
    assert.deepEqual(p2.received, [
      { a: 'subscribe', v: [2, 3, 1] },
      { a: 'mode', v: ['full', [2]] },
      { a: 'mode', v: ['quote', [3]] },
      { a: 'mode', v: ['ltp', [1]] },
    ]);
    assert.equal((rec.payloads.reconnected![0]![0] as { resubscribed: number }).resubscribed, 3);
    assert.deepEqual(client.state, { kind: 'open' });
  } finally {
    client.close();
    await server.close();
  }
});

test('a server that goes silent (no heartbeat for 5 s) is detected and reconnected', async () => {
  const { server, client, clock, rec } = await setup({ marketOpen: false });
  try {
    client.start();
    await server.until(() => client.state.kind === 'open', 'open');
    await advance(clock, 4000);
    server.peers[0]!.ws.send(HEARTBEAT);
    await new Promise((r) => setTimeout(r, 20));
    await advance(clock, 4000);
    assert.deepEqual(rec.log, [], 'a heartbeat within 5 s keeps it alive');
    await advance(clock, 1000);
    assert.deepEqual(rec.log, ['disconnected']);
    assert.equal((rec.payloads.disconnected![0]![0] as { reason: string }).reason, 'silent');
    await advance(clock, 1000);
    await server.until(() => rec.log.includes('reconcile'), 'reconcile');
  } finally {
    client.close();
    await server.close();
  }
});

test('a feed that sends heartbeats but no ticks for 60 s in market hours is treated as stale', async () => {
  const { server, client, clock, rec } = await setup({ marketOpen: true });
  try {
    client.subscribe([408065], 'quote');
    client.start();
    await server.until(() => client.state.kind === 'open', 'open');
    for (let i = 0; i < 59; i++) {
      server.peers[0]!.ws.send(HEARTBEAT);
      await new Promise((r) => setTimeout(r, 2));
      await clock.advance(1000);
    }
    assert.deepEqual(rec.log, []);
    server.peers[0]!.ws.send(HEARTBEAT);
    await new Promise((r) => setTimeout(r, 5));
    await clock.advance(1000);
    assert.deepEqual(rec.log, ['disconnected']);
    assert.equal((rec.payloads.disconnected![0]![0] as { reason: string }).reason, 'stale');
  } finally {
    client.close();
    await server.close();
  }
});

test('a refused reconnect backs off under 1, 2, 4 s (full jitter) and recovers when the server returns', async () => {
  const first = await startWs();
  const clock = new TestClock();
  const attempts: number[] = [];
  let t0 = 0;
  // Every connect asks for the token, so the calls time-stamp the attempts.
  const client = new KiteTickerClient({ url: first.url, apiKey: 'k', getAccessToken: () => (attempts.push(clock.now() - t0), 't'), clock, random: () => 0.5, isMarketOpen: () => false });
  const rec = record(client);
  let second: Awaited<ReturnType<typeof startWs>> | undefined;
  try {
    client.subscribe([5], 'full');
    client.start();
    await first.until(() => client.state.kind === 'open', 'open');
    t0 = clock.now();
    attempts.length = 0;
    await first.close();
    await first.until(() => rec.log.includes('disconnected'), 'disconnected');
    for (let t = 0; t < 7000; t += 250) {
      await advance(clock, 250, 250);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.deepEqual(attempts, [500, 1500, 3500], 'waits of 500, 1000, 2000 ms: half of each ceiling with random 0.5');
    assert.deepEqual(rec.log, ['disconnected'], 'one outage, announced once');
    second = await startWs(first.port);
    await advance(clock, 8000, 500);
    await second.until(() => rec.log.includes('reconcile'), 'reconcile');
    await second.until(() => second!.peers[0]?.received.length === 2, 'resubscribe');
    assert.deepEqual(second.peers[0]!.received, [{ a: 'subscribe', v: [5] }, { a: 'mode', v: ['full', [5]] }]);
  } finally {
    client.close();
    await second?.close();
  }
});

test('more than 3000 instruments open a second socket', async () => {
  const { server, client } = await setup({ perConnection: 2 });
  try {
    client.start();
    await server.until(() => client.state.kind === 'open', 'open');
    client.subscribe([1, 2, 3], 'ltp');
    await server.until(() => server.peers.length === 2 && server.peers[1]!.received.length === 2, 'second socket');
    assert.deepEqual(server.peers[0]!.received, [{ a: 'subscribe', v: [1, 2] }, { a: 'mode', v: ['ltp', [1, 2]] }]);
    assert.deepEqual(server.peers[1]!.received, [{ a: 'subscribe', v: [3] }, { a: 'mode', v: ['ltp', [3]] }]);
    assert.throws(() => client.subscribe([4, 5, 6, 7], 'ltp'), /exceed/);
  } finally {
    client.close();
    await server.close();
  }
});

test('after close nothing reconnects', async () => {
  const { server, client, clock, rec } = await setup();
  try {
    client.start();
    await server.until(() => client.state.kind === 'open', 'open');
    client.close();
    assert.deepEqual(client.state, { kind: 'closed' });
    await advance(clock, 60_000, 5000);
    assert.equal(server.peers.length, 1);
    assert.deepEqual(rec.log, []);
  } finally {
    await server.close();
  }
});

test('NSE cash hours: 09:15 to 15:30 IST on weekdays', () => {
  const ist = (d: string) => Date.parse(`${d}+05:30`);
  assert.equal(nseCashMarketOpen(ist('2026-11-23T09:14:59')), false); // Monday
  assert.equal(nseCashMarketOpen(ist('2026-11-23T09:15:00')), true);
  assert.equal(nseCashMarketOpen(ist('2026-11-23T15:29:59')), true);
  assert.equal(nseCashMarketOpen(ist('2026-11-23T15:30:00')), false);
  assert.equal(nseCashMarketOpen(ist('2026-11-22T11:00:00')), false); // Sunday
});
