/**
 * The official KiteTicker against the sim: connect, subscribe, modes, binary parsing of a
 * tradable and an index token, heartbeats and order-update text frames.
 * The JS ticker keeps module-global state, so this file owns the only KiteTicker in its process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KiteTicker } from 'kiteconnect';
import { WebSocket } from 'ws';
import { connectTicker, kiteFetch, startTestSim, eventually } from './helpers.ts';

const INFY = 408065;
const NIFTY = 256265;

type Tick = Record<string, any>;

test('official KiteTicker parses ltp, quote and full ticks for a tradable and an index', async () => {
  const { sim, clock } = await startTestSim();
  const accessToken = sim.issueAccessToken();
  // reconnect:false — with reconnects on, the client's disconnect() ends in process.exit(1).
  const ticker: any = new KiteTicker({ api_key: sim.credentials.apiKey, access_token: accessToken, root: sim.wsUrl, reconnect: false } as any);
  const ticks: Tick[] = [];
  const orderUpdates: Tick[] = [];
  let heartbeats = 0;
  ticker.on('ticks', (t: Tick[]) => ticks.push(...t));
  ticker.on('order_update', (o: Tick) => orderUpdates.push(o));
  ticker.on('message', (buf: ArrayBuffer) => {
    if (buf.byteLength === 1) heartbeats++;
  });
  await connectTicker(ticker);

  try {
    assert.equal(sim.tickerConnections(), 1);
    ticker.subscribe([INFY, NIFTY]);
    await eventually(() => ticks.some((t) => t.instrument_token === NIFTY) && ticks.some((t) => t.instrument_token === INFY), 'quote snapshot');
    const q = ticks.find((t) => t.instrument_token === INFY)!;
    assert.equal(q.mode, 'quote', 'default mode after subscribe is quote');
    assert.equal(q.tradable, true);
    assert.ok(q.last_price > 1000 && q.last_price < 2500);
    assert.ok(q.ohlc.high >= q.ohlc.low && q.ohlc.close === 1542.35);
    assert.ok(q.volume_traded > 0 && q.average_traded_price > 0);
    assert.equal(q.depth, undefined);
    const iq = ticks.find((t) => t.instrument_token === NIFTY)!;
    assert.equal(iq.tradable, false);
    assert.equal(iq.mode, 'quote');
    assert.equal(iq.ohlc.close, 24321.5, 'index packets carry H,L,O,C at 8-24; the client maps them right');
    assert.ok(iq.ohlc.high >= iq.ohlc.open && iq.ohlc.low <= iq.ohlc.open);

    ticks.length = 0;
    ticker.setMode('full', [INFY, NIFTY]);
    await eventually(() => ticks.filter((t) => t.mode === 'full').length >= 2, 'full snapshot');
    const f = ticks.find((t) => t.instrument_token === INFY && t.mode === 'full')!;
    assert.equal(f.depth.buy.length, 5);
    assert.equal(f.depth.sell.length, 5);
    assert.ok(f.depth.buy[0].price < f.depth.sell[0].price, 'best bid below best ask');
    assert.ok(f.depth.buy[0].quantity > 0 && f.depth.buy[0].orders > 0);
    assert.ok(f.exchange_timestamp instanceof Date);
    assert.equal(f.exchange_timestamp.getTime(), Math.floor(clock.now() / 1000) * 1000);
    assert.ok(f.last_trade_time instanceof Date);
    const fi = ticks.find((t) => t.instrument_token === NIFTY && t.mode === 'full')!;
    assert.ok(fi.exchange_timestamp instanceof Date);

    ticks.length = 0;
    ticker.setMode('ltp', [INFY]);
    await eventually(() => ticks.some((t) => t.mode === 'ltp'), 'ltp snapshot');
    assert.deepEqual(Object.keys(ticks.find((t) => t.mode === 'ltp')!).sort(), ['instrument_token', 'last_price', 'mode', 'tradable']);

    // Price steps on the sim clock: one frame per step carries every subscription.
    ticks.length = 0;
    await clock.advance(500);
    await eventually(() => ticks.length >= 2, 'tick after a price step');
    assert.deepEqual(new Set(ticks.map((t) => t.mode)), new Set(['ltp', 'full']));

    ticker.unsubscribe([INFY, NIFTY]);
    await new Promise((r) => setTimeout(r, 20));
    ticks.length = 0;
    heartbeats = 0;
    await clock.advance(2000);
    await eventually(() => heartbeats >= 2, 'heartbeats');
    assert.equal(ticks.length, 0, 'nothing subscribed, only heartbeats');

    // Order updates arrive as text frames the client surfaces as order_update.
    const res = await kiteFetch(sim, '/orders/regular', {
      method: 'POST',
      token: accessToken,
      body: new URLSearchParams({ exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: 'BUY', quantity: '1', product: 'MIS', order_type: 'MARKET', market_protection: '-1' }),
    });
    assert.equal(res.status, 200);
    await eventually(() => orderUpdates.some((o) => o.status === 'COMPLETE'), 'order update');
    const upd = orderUpdates.find((o) => o.status === 'COMPLETE')!;
    assert.equal(upd.tradingsymbol, 'SBIN');
    assert.equal(upd.user_id, sim.credentials.userId);
    assert.equal(upd.checksum, '', 'WebSocket order frames carry a blank checksum; only postbacks are signed');
    assert.match(upd.order_id, /^\d{19}$/, "today's 19-digit order ids");
    // No frame for the placement itself (OPEN): Kite sends WebSocket updates for later changes only.
    assert.deepEqual(orderUpdates.map((o) => o.status), ['COMPLETE']);
  } finally {
    ticker.disconnect();
    await sim.close();
  }
});

function rawConnect(url: string): Promise<{ ws: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => resolve({ ws, status: res.statusCode }));
    ws.on('error', () => undefined);
  });
}

test('ticker handshake checks api_key/access_token and allows 3 connections per api key', async () => {
  const { sim } = await startTestSim();
  try {
    const token = sim.issueAccessToken();
    const url = `${sim.wsUrl}?api_key=${sim.credentials.apiKey}&access_token=${token}`;
    const bad = await rawConnect(`${sim.wsUrl}?api_key=${sim.credentials.apiKey}&access_token=nope`);
    assert.equal(bad.status, 403);
    const open = [await rawConnect(url), await rawConnect(url), await rawConnect(url)];
    assert.ok(open.every((c) => c.status === undefined));
    const fourth = await rawConnect(url);
    assert.equal(fourth.status, 429);
    open.forEach((c) => c.ws.close());
  } finally {
    await sim.close();
  }
});

test('binary frame layout: u16 count, u16 length, packets; 44-byte quote with token and price in paise', async () => {
  const { sim } = await startTestSim();
  try {
    const token = sim.issueAccessToken();
    const { ws } = await rawConnect(`${sim.wsUrl}?api_key=${sim.credentials.apiKey}&access_token=${token}`);
    const frames: Buffer[] = [];
    ws.on('message', (d: Buffer, isBinary: boolean) => isBinary && d.length > 1 && frames.push(d));
    ws.send(JSON.stringify({ a: 'subscribe', v: [INFY, 999999999] }));
    await eventually(() => frames.length > 0, 'first frame');
    const fr = frames[0]!;
    assert.equal(fr.readUInt16BE(0), 1, 'unknown tokens are ignored');
    assert.equal(fr.readUInt16BE(2), 44);
    assert.equal(fr.readUInt32BE(4), INFY);
    const quote = (await (await kiteFetch(sim, '/quote/ltp?i=NSE:INFY', { token })).json()) as any;
    assert.equal(fr.readInt32BE(8), Math.round(quote.data['NSE:INFY'].last_price * 100));
    ws.close();
  } finally {
    await sim.close();
  }
});

test('a connection holds at most 3000 instruments; the excess gets an error text frame', async () => {
  const { sim } = await startTestSim();
  try {
    const token = sim.issueAccessToken();
    const { ws } = await rawConnect(`${sim.wsUrl}?api_key=${sim.credentials.apiKey}&access_token=${token}`);
    const texts: any[] = [];
    const frames: Buffer[] = [];
    ws.on('message', (d: Buffer, isBinary: boolean) => (isBinary ? frames.push(d) : texts.push(JSON.parse(d.toString()))));
    const many = Array.from({ length: 2999 }, (_, i) => 100_000_000 + i);
    ws.send(JSON.stringify({ a: 'subscribe', v: [...many, INFY, NIFTY] }));
    await eventually(() => texts.length > 0, 'error frame');
    assert.equal(texts[0].type, 'error');
    assert.match(texts[0].data, /3000/);
    await eventually(() => frames.length > 0, 'ticks for the admitted known token');
    assert.equal(frames[0]!.readUInt16BE(0), 1, 'INFY got in as the 3000th; NIFTY did not');
    assert.equal(frames[0]!.readUInt32BE(4), INFY);
    ws.send('not json');
    await eventually(() => texts.length > 1, 'second error');
    assert.equal(texts[1].type, 'error');
    ws.close();
  } finally {
    await sim.close();
  }
});
