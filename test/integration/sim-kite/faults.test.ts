/** Every injected fault, through `sim.faults` and through POST /_sim/faults. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KiteConnect } from 'kiteconnect';
import { WebSocket } from 'ws';
import type { KiteSim } from '../../../exchanges/kite/index.ts';
import { startTestSim, eventually } from './helpers.ts';

const order = (over: Record<string, unknown> = {}) => ({
  exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: 'BUY', quantity: 1, product: 'MIS', order_type: 'MARKET', ...{ market_protection: -1 }, ...over,
});

function client(sim: KiteSim, timeout?: number): any {
  return new KiteConnect({ api_key: sim.credentials.apiKey, access_token: sim.issueAccessToken(), root: sim.restUrl, ...(timeout && { timeout }) });
}

function socket(sim: KiteSim): Promise<{ ws: WebSocket; frames: Buffer[]; status?: number; closed: () => boolean }> {
  const url = `${sim.wsUrl}?api_key=${sim.credentials.apiKey}&access_token=${sim.issueAccessToken()}`;
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const frames: Buffer[] = [];
    let closed = false;
    ws.on('message', (d: Buffer) => frames.push(d));
    ws.on('close', () => (closed = true));
    ws.on('error', () => undefined);
    ws.on('open', () => resolve({ ws, frames, closed: () => closed }));
    ws.on('unexpected-response', (_q, res) => resolve({ ws, frames, status: res.statusCode, closed: () => true }));
  });
}

test('dropSockets closes ticker sockets abruptly; refuseSockets rejects new upgrades with 503', async () => {
  const { sim } = await startTestSim();
  try {
    const a = await socket(sim);
    const closeCode = new Promise<number>((r) => a.ws.on('close', (code) => r(code)));
    sim.faults.dropSockets();
    assert.equal(await closeCode, 1006, 'no close frame: abnormal closure');

    sim.faults.refuseSockets(true);
    assert.equal((await socket(sim)).status, 503);
    sim.faults.refuseSockets(false);
    const b = await socket(sim);
    assert.equal(b.status, undefined);
    b.ws.close();
  } finally {
    await sim.close();
  }
});

test('stallSockets silences ticks and heartbeats for that much Clock time, then they resume', async () => {
  const { sim, clock } = await startTestSim();
  try {
    const s = await socket(sim);
    s.ws.send(JSON.stringify({ a: 'subscribe', v: [408065] }));
    await eventually(() => s.frames.length > 0, 'snapshot');
    sim.faults.stallSockets(3000);
    s.frames.length = 0;
    await clock.advance(2900);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(s.frames.length, 0, 'nothing at all while stalled');
    await clock.advance(1100);
    await eventually(() => s.frames.some((f) => f.length === 1) && s.frames.some((f) => f.length > 1), 'heartbeat and tick after the stall');
    assert.equal(s.closed(), false, 'a stall does not close the socket');
    s.ws.close();
  } finally {
    await sim.close();
  }
});

test('failNext: the next n REST calls fail with the given error, then calls succeed', async () => {
  const { sim } = await startTestSim();
  try {
    const kc = client(sim);
    sim.faults.failNext(2, { status: 502, errorType: 'NetworkException', message: 'OMS down' });
    for (let i = 0; i < 2; i++) await assert.rejects(kc.getProfile(), (e: any) => e.error_type === 'NetworkException' && e.message === 'OMS down');
    assert.equal((await kc.getProfile()).user_id, sim.credentials.userId);
    sim.faults.failNext(1);
    await assert.rejects(kc.getOrders(), (e: any) => e.error_type === 'NetworkException');
  } finally {
    await sim.close();
  }
});

test('rateLimitStorm: every order call is 429 for that long, reads still pass', async () => {
  const { sim, clock } = await startTestSim();
  try {
    const kc = client(sim);
    sim.faults.rateLimitStorm(2000);
    await assert.rejects(kc.placeOrder('regular', order()), (e: any) => e.error_type === 'NetworkException' && e.message === 'Too many requests');
    const raw = await fetch(`${sim.restUrl}/orders/regular`, {
      method: 'POST',
      headers: { 'X-Kite-Version': '3', Authorization: `token ${sim.credentials.apiKey}:${kc.access_token}` },
      body: new URLSearchParams({ exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: 'BUY', quantity: '1', product: 'MIS', order_type: 'MARKET', market_protection: '-1' }),
    });
    assert.equal(raw.status, 429);
    assert.equal(raw.headers.get('retry-after'), '2');
    assert.deepEqual(await kc.getOrders(), []);
    await clock.advance(2000);
    assert.match((await kc.placeOrder('regular', order())).order_id, /^\d+$/);
  } finally {
    await sim.close();
  }
});

test('acceptThenTimeout: the order lands but the client times out; close() releases the socket', async () => {
  const { sim } = await startTestSim();
  try {
    const kc = client(sim, 300);
    sim.faults.acceptThenTimeout(1);
    await assert.rejects(
      kc.placeOrder('regular', order({ tag: 'lostreply1' })),
      (e: any) => e.error_type === 'NetworkException' && /No response from server/.test(e.message),
    );
    const landed = sim.orders().filter((o) => o.tag === 'lostreply1');
    assert.equal(landed.length, 1, 'the write was applied');
    assert.equal(landed[0]!.status, 'COMPLETE');
    // The lookup-before-retry path finds it by tag.
    assert.equal((await kc.getOrders()).filter((o: any) => o.tag === 'lostreply1').length, 1);
    // A held response that the client never abandons is released by close().
    sim.faults.acceptThenTimeout(1);
    const pending = client(sim, 60_000).placeOrder('regular', order()).catch((e: any) => e);
    await eventually(() => sim.orders().length === 2, 'second write applied');
    await sim.close();
    const err = await pending;
    assert.equal(err.error_type, 'NetworkException');
  } finally {
    await sim.close();
  }
});

test('rejectNext: orders go REJECTED with status_message; marginExceptionNext: 400 MarginException', async () => {
  const { sim } = await startTestSim();
  try {
    const kc = client(sim);
    sim.faults.rejectNext(1, 'RMS:Blocked for testing');
    const { order_id } = await kc.placeOrder('regular', order());
    const hist = await kc.getOrderHistory(order_id);
    assert.deepEqual(hist.map((h: any) => h.status), ['PUT ORDER REQ RECEIVED', 'VALIDATION PENDING', 'REJECTED']);
    assert.equal(hist.at(-1).status_message, 'RMS:Blocked for testing');
    assert.equal(hist.at(-1).exchange_order_id, null);

    sim.faults.marginExceptionNext(1);
    await assert.rejects(kc.placeOrder('regular', order()), (e: any) => e.error_type === 'MarginException');
    assert.match((await kc.placeOrder('regular', order())).order_id, /^\d+$/);
  } finally {
    await sim.close();
  }
});

test('POST /_sim/faults drives the same faults over HTTP (zod-validated)', async () => {
  const { sim } = await startTestSim();
  try {
    const kc = client(sim);
    const post = (body: unknown) => fetch(`${sim.restUrl}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post({ fault: 'failNext', n: 1, status: 500, errorType: 'GeneralException', message: 'boom' })).status, 200);
    await assert.rejects(kc.getProfile(), (e: any) => e.error_type === 'GeneralException' && e.message === 'boom');
    assert.equal((await post({ fault: 'rejectNext', n: 1, reason: 'no' })).status, 200);
    const { order_id } = await kc.placeOrder('regular', order());
    assert.equal((await kc.getOrderHistory(order_id)).at(-1).status, 'REJECTED');
    const bad = await post({ fault: 'stallSockets' });
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as any;
    assert.equal(body.error_type, 'InputException');
    assert.match(body.message, /`ms`/);
    const price = await fetch(`${sim.restUrl}/_sim/price`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instrument_token: 779521, price: 900 }) });
    assert.equal(price.status, 200);
    assert.equal((await kc.getLTP(['NSE:SBIN']))['NSE:SBIN'].last_price, 900);
  } finally {
    await sim.close();
  }
});
