/** Matching, partial fills, stops, IOC, validation errors, postbacks and determinism. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KiteConnect } from 'kiteconnect';
import type { KiteSim } from '../../../exchanges/kite/index.ts';
import { TestClock } from '../../../actors/clock.ts';
import { kiteFetch, startTestSim, eventually } from './helpers.ts';

const SBIN = 779521;

function client(sim: KiteSim): any {
  return new KiteConnect({ api_key: sim.credentials.apiKey, access_token: sim.issueAccessToken(), root: sim.restUrl });
}

async function postbackSink() {
  const received: any[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString()) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/postback`;
  return { url, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('postbacks: JSON with user_id, unfilled_quantity, app_id and a checksum the official client validates', async () => {
  const sink = await postbackSink();
  const { sim, clock } = await startTestSim({ postbackUrl: sink.url, enforceRateLimits: false });
  try {
    const kc = client(sim);
    // A big SELL limit below the market crosses at once but fills only the top bid per step.
    sim.setPrice(SBIN, 800);
    const { order_id } = await kc.placeOrder('regular', {
      exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: 'SELL', quantity: 20000, product: 'MIS', order_type: 'LIMIT', price: 700,
    });
    let o = (await kc.getOrders()).find((x: any) => x.order_id === order_id);
    assert.equal(o.status, 'OPEN');
    assert.ok(o.filled_quantity > 0 && o.filled_quantity < 20000, 'partial fill');
    assert.equal(o.pending_quantity, 20000 - o.filled_quantity);
    for (let i = 0; i < 40 && o.status !== 'COMPLETE'; i++) {
      await clock.advance(500);
      o = (await kc.getOrders()).find((x: any) => x.order_id === order_id);
    }
    assert.equal(o.status, 'COMPLETE');
    const trades = await kc.getOrderTrades(order_id);
    assert.ok(trades.length > 1);
    assert.equal(trades.reduce((a: number, t: any) => a + t.quantity, 0), 20000);

    await eventually(() => sink.received.some((p) => p.body.status === 'COMPLETE'), 'COMPLETE postback');
    const updates = sink.received.filter((p) => p.body.status === 'UPDATE');
    assert.ok(updates.length >= 1, 'partial fills post UPDATE');
    assert.ok(updates[0].body.unfilled_quantity > 0);
    const complete = sink.received.find((p) => p.body.status === 'COMPLETE');
    assert.equal(complete.contentType, 'application/json');
    assert.equal(complete.body.user_id, sim.credentials.userId);
    assert.equal(complete.body.unfilled_quantity, 0);
    assert.equal(typeof complete.body.app_id, 'number');
    assert.equal(kc.validatePostback(complete.body, sim.credentials.apiSecret), true);
    assert.equal(kc.validatePostback(complete.body, 'wrong-secret'), false);
    assert.ok(!sink.received.some((p) => p.body.status === 'OPEN'), 'OPEN is not a postback event');

    // setPostbackUrl(undefined) stops deliveries.
    sim.setPostbackUrl(undefined);
    const before = sink.received.length;
    await kc.placeOrder('regular', { exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: 'BUY', quantity: 1, product: 'MIS', order_type: 'MARKET', ...{ market_protection: -1 } });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(sink.received.length, before);
  } finally {
    await sim.close();
    await sink.close();
  }
});

test('positions: realised and unrealised P&L with average-cost accounting', async () => {
  const { sim } = await startTestSim({ enforceRateLimits: false });
  try {
    const kc = client(sim);
    const mkt = (side: string, qty: number) =>
      kc.placeOrder('regular', { exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: side, quantity: qty, product: 'MIS', order_type: 'MARKET', ...{ market_protection: -1 } });
    sim.setPrice(SBIN, 800);
    await mkt('BUY', 10);
    sim.setPrice(SBIN, 810);
    await mkt('BUY', 10); // avg 805
    sim.setPrice(SBIN, 820);
    await mkt('SELL', 5); // realised 5 × 15 = 75
    sim.setPrice(SBIN, 830);
    const p = (await kc.getPositions()).net.find((x: any) => x.tradingsymbol === 'SBIN');
    assert.equal(p.quantity, 15);
    assert.equal(p.average_price, 805);
    assert.equal(p.realised, 75);
    assert.equal(p.unrealised, 375); // 15 × (830 - 805)
    assert.equal(p.pnl, 450);
    assert.equal(p.buy_value, 16100);
    assert.equal(p.sell_value, 4100);
    assert.equal(p.value, -12000);
    assert.equal(p.last_price, 830);
  } finally {
    await sim.close();
  }
});

test('stop-loss orders wait in TRIGGER PENDING; IOC leaves nothing resting; TTL expires on the Clock', async () => {
  const { sim, clock } = await startTestSim({ enforceRateLimits: false });
  try {
    const kc = client(sim);
    sim.setPrice(SBIN, 800);
    const { order_id: sl } = await kc.placeOrder('regular', {
      exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: 'SELL', quantity: 1, product: 'MIS', order_type: 'SL-M', trigger_price: 790, ...{ market_protection: -1 },
    });
    assert.equal((await kc.getOrderHistory(sl)).at(-1).status, 'TRIGGER PENDING');
    sim.setPrice(SBIN, 789);
    const slDone = (await kc.getOrderHistory(sl)).at(-1);
    assert.equal(slDone.status, 'COMPLETE');
    assert.equal(slDone.average_price, 789);

    const { order_id: ioc } = await kc.placeOrder('regular', {
      exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: 'BUY', quantity: 1, product: 'MIS', order_type: 'LIMIT', price: 500, validity: 'IOC',
    });
    const iocDone = (await kc.getOrderHistory(ioc)).at(-1);
    assert.equal(iocDone.status, 'CANCELLED');
    assert.equal(iocDone.cancelled_quantity, 1);

    const { order_id: ttl } = await kc.placeOrder('regular', {
      exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: 'BUY', quantity: 1, product: 'MIS', order_type: 'LIMIT', price: 500, validity: 'TTL', validity_ttl: 1,
    });
    assert.equal((await kc.getOrderHistory(ttl)).at(-1).status, 'OPEN');
    await clock.advance(60_000);
    assert.equal((await kc.getOrderHistory(ttl)).at(-1).status, 'CANCELLED');
  } finally {
    await sim.close();
  }
});

test('bad input is a 400 InputException naming the field; insufficient funds is a REJECTED order', async () => {
  const { sim } = await startTestSim({ enforceRateLimits: false });
  try {
    const token = sim.issueAccessToken();
    const place = async (fields: Record<string, string>) => {
      const base = { exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: 'BUY', quantity: '1', product: 'MIS', order_type: 'MARKET', market_protection: '-1' };
      const res = await kiteFetch(sim, '/orders/regular', { method: 'POST', token, body: new URLSearchParams({ ...base, ...fields }) });
      return { status: res.status, body: (await res.json()) as any };
    };
    for (const [fields, field] of [
      [{ tag: 'has space' }, 'tag'],
      [{ tag: 'a'.repeat(21) }, 'tag'],
      [{ quantity: '0' }, 'quantity'],
      [{ transaction_type: 'HOLD' }, 'transaction_type'],
      [{ order_type: 'LIMIT' }, 'price'],
      [{ tradingsymbol: 'NOPE' }, 'tradingsymbol'],
      [{ tradingsymbol: 'NIFTY 50' }, 'tradingsymbol'],
    ] as const) {
      const r = await place(fields);
      assert.equal(r.status, 400, JSON.stringify(fields));
      assert.equal(r.body.error_type, 'InputException');
      assert.equal(r.body.data, null);
      assert.ok(r.body.message.includes(`\`${field}\``), `${r.body.message} names ${field}`);
    }
    // A price off the grid gets Kite's own wording, which names the grid rather than the field.
    const offGrid = await place({ order_type: 'LIMIT', price: '800.03' });
    assert.equal(offGrid.status, 400);
    assert.deepEqual(offGrid.body, {
      status: 'error', error_type: 'InputException', data: null,
      message: 'Tick size for this script is 0.05. Kindly enter price in the multiple of tick size for this script',
    });
    const co = await kiteFetch(sim, '/orders/co', { method: 'POST', token, body: new URLSearchParams({}) });
    assert.equal(co.status, 400);

    // ₹10 lakh of cash cannot buy 10,000 TCS for delivery.
    const big = await place({ tradingsymbol: 'TCS', quantity: '10000', product: 'CNC' });
    assert.equal(big.status, 200);
    const hist = (await (await kiteFetch(sim, `/orders/${big.body.data.order_id}`, { token })).json()) as any;
    const last = hist.data.at(-1);
    assert.equal(last.status, 'REJECTED');
    assert.match(last.status_message, /Insufficient funds/);
    assert.match(last.status_message_raw, /^RMS:Margin Exceeds/);

    // Modifying or cancelling a finished order is refused.
    const done = await place({});
    const cancel = await kiteFetch(sim, `/orders/regular/${done.body.data.order_id}`, { method: 'DELETE', token });
    assert.equal(cancel.status, 400);
    const unknown = await kiteFetch(sim, '/orders/123456789012345', { token });
    assert.equal(unknown.status, 400);
    const notFound = await kiteFetch(sim, '/nothing/here', { token });
    assert.equal(notFound.status, 404);
  } finally {
    await sim.close();
  }
});

test('the price path is reproducible from the seed', async () => {
  const run = async (seed: number) => {
    const { sim, clock } = await startTestSim({ seed, enforceRateLimits: false });
    try {
      await clock.advance(5000);
      const token = sim.issueAccessToken();
      return ((await (await kiteFetch(sim, '/quote/ltp?i=NSE:INFY&i=NSE:NIFTY%2050', { token })).json()) as any).data;
    } finally {
      await sim.close();
    }
  };
  const a = await run(42);
  assert.deepEqual(await run(42), a);
  assert.notDeepEqual(await run(43), a);
  // Prices stay on the 0.05 grid.
  assert.equal(Math.round(a['NSE:INFY'].last_price * 100) % 5, 0);
});

test('two exchanges started in the same second never issue the same order or trade id', async () => {
  const started = Date.UTC(2026, 10, 23, 4, 0, 0);
  const ids = { orders: [] as string[], trades: [] as string[] };
  for (let run = 0; run < 2; run++) {
    const { sim } = await startTestSim({ clock: new TestClock(started), enforceRateLimits: false });
    try {
      const kc = client(sim);
      sim.setPrice(SBIN, 800);
      const { order_id } = await kc.placeOrder('regular', { exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: 'BUY', quantity: 1, product: 'MIS', order_type: 'MARKET', ...{ market_protection: -1 } });
      ids.orders.push(order_id);
      for (const t of await kc.getOrderTrades(order_id)) ids.trades.push(t.trade_id);
    } finally {
      await sim.close();
    }
  }
  assert.equal(new Set(ids.orders).size, 2, `order ids ${ids.orders.join(', ')}`);
  assert.equal(ids.trades.length, 2);
  assert.equal(new Set(ids.trades).size, 2, `trade ids ${ids.trades.join(', ')}`);
});

test('an order takes 25 modifications; the 26th is refused as Kite refuses it (503 NetworkException, "Maximum allowed order modifications exceeded.") and changes nothing', async () => {
  const { sim } = await startTestSim({ enforceRateLimits: false });
  try {
    sim.setPrice(SBIN, 800);
    const token = sim.issueAccessToken();
    const form = (o: Record<string, string>) => ({ method: 'POST', token, body: new URLSearchParams(o) });
    const placed = await (await kiteFetch(sim, '/orders/regular', form({
      exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: 'BUY', quantity: '1', product: 'MIS', order_type: 'LIMIT', price: '700',
    }))).json() as { data: { order_id: string } };
    const id = placed.data.order_id;
    const modify = (price: string) => kiteFetch(sim, `/orders/regular/${id}`, { method: 'PUT', token, body: new URLSearchParams({ price }) });
    for (let i = 1; i <= 25; i++) {
      const r = await modify(`${700 - i * 0.05}`);
      assert.equal(r.status, 200, `modification ${i}: ${await r.clone().text()}`);
    }
    const refused = await modify('650');
    assert.equal(refused.status, 503);
    assert.deepEqual(await refused.json(), { status: 'error', message: 'Maximum allowed order modifications exceeded.', error_type: 'NetworkException', data: null });
    const o = sim.orders().find((x) => x.order_id === id)!;
    assert.deepEqual([o.price, o.status], [698.75, 'OPEN'], 'the order keeps its 25th change');
  } finally {
    await sim.close();
  }
});
