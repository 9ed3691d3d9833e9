import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { TestClock } from '../../actors/clock.ts';
import { VenueError } from '../venue-errors.ts';
import { neverArrived } from './errors.ts';
import { KiteRestClient } from './rest-client.ts';
import { KITE_ERROR_CASES } from '../../test/support/kite-error-cases.ts';
import { fail, json, ok, startHttp } from './test-http.ts';
import { FakeLimiter } from '../../test/support/fake-limiter.ts';

const ORDER = {
  order_id: '1914227164488687616', exchange_order_id: null, status: 'OPEN', variety: 'regular', exchange: 'NSE',
  tradingsymbol: 'INFY', instrument_token: 408065, order_type: 'LIMIT', transaction_type: 'BUY', quantity: 1, price: 1500.5,
  filled_quantity: 0, pending_quantity: 1, tag: 'i123', tags: ['i123'], an_unknown_new_field: true,
};

async function setup(handler: Parameters<typeof startHttp>[0], timeoutMs = 7000) {
  const server = await startHttp(handler);
  const clock = new TestClock();
  const limiter = new FakeLimiter();
  let token: string | undefined = 'tok-secret-1';
  const client = new KiteRestClient({ root: server.url, apiKey: 'key1', getAccessToken: () => token, limiter, clock, timeoutMs });
  return { server, clock, limiter, client, setToken: (t: string | undefined) => (token = t) };
}

async function rejectsKind(p: Promise<unknown>, kind: string): Promise<VenueError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof VenueError, `expected VenueError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    return e;
  }
  assert.fail(`expected ${kind}, call succeeded`);
}

test('a placed order is sent as a form with version and auth headers, and its 19-digit id stays a string', async () => {
  const { server, client, limiter } = await setup((_r, res) => ok(res, { order_id: '1914227164488687616' }));
  try {
    const r = await client.placeOrder('regular', {
      tradingsymbol: 'INFY', exchange: 'NSE', transaction_type: 'BUY', order_type: 'LIMIT', quantity: 1, product: 'CNC', price: 1573.15, tag: 'i0abc',
    });
    assert.equal(r.order_id, '1914227164488687616');
    const req = server.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url.pathname, '/orders/regular');
    assert.equal(req.headers['x-kite-version'], '3');
    assert.equal(req.headers.authorization, 'token key1:tok-secret-1');
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    const form = new URLSearchParams(req.body);
    assert.equal(form.get('price'), '1573.15');
    assert.equal(form.get('tag'), 'i0abc');
    assert.equal(form.has('trigger_price'), false, 'unset fields are left out');
    assert.deepEqual(limiter.acquired.map((a) => ({ category: a.category, priority: a.opts?.priority })), [{ category: 'kite.orders', priority: 'place' }]);
    assert.equal(limiter.settled, 1, 'the answer is reported to the limiter (broker/limiter/README.md)');
  } finally {
    await server.close();
  }
});

test('every call waits for the limiter in its own category, with its priority', async () => {
  const { server, client, limiter } = await setup((r, res) => {
    if (r.url.pathname.startsWith('/quote')) return ok(res, {});
    if (r.url.pathname === '/portfolio/positions') return ok(res, { net: [], day: [] });
    if (r.url.pathname === '/user/margins') return ok(res, {});
    return ok(res, r.method === 'GET' ? [] : { order_id: '1' });
  });
  try {
    await client.modifyOrder('regular', '1', { price: 10 });
    await client.cancelOrder('regular', '1', { priority: 'kill' });
    await client.cancelOrder('regular', '2');
    await client.getQuote(['NSE:INFY']);
    await client.getLtp(['NSE:INFY']);
    await client.getOhlc(['NSE:INFY']);
    await client.getOrders();
    await client.getPositions();
    await client.getMargins();
    assert.deepEqual(limiter.acquired.map((a) => ({ category: a.category, priority: a.opts?.priority })), [
      { category: 'kite.modify', priority: 'modify' },
      { category: 'kite.modify', priority: 'kill' },
      { category: 'kite.modify', priority: 'cancel' },
      { category: 'kite.quote', priority: 'read' },
      { category: 'kite.quote', priority: 'read' },
      { category: 'kite.quote', priority: 'read' },
      { category: 'kite.other', priority: 'read' },
      { category: 'kite.other', priority: 'read' },
      { category: 'kite.other', priority: 'read' },
    ]);
    assert.equal(server.requests[0]!.method, 'PUT');
    assert.equal(server.requests[1]!.method, 'DELETE');
    assert.equal(server.requests[1]!.url.pathname, '/orders/regular/1');
  } finally {
    await server.close();
  }
});

test('venue data is validated: orders, history, trades, positions, quotes parse; unknown fields pass through', async () => {
  const trade = { trade_id: '10000000', order_id: '151220000000000', average_price: 420.65, quantity: 1, fill_timestamp: '2021-05-31 09:16:39', order_timestamp: '09:16:39' };
  const pos = { tradingsymbol: 'INFY', exchange: 'NSE', instrument_token: 408065, product: 'MIS', quantity: -1, average_price: 1573.15, value: 1573.15, pnl: 0 };
  const quote = { instrument_token: 408065, last_price: 1573.15, ohlc: { open: 1, high: 2, low: 0.5, close: 1.5 }, depth: { buy: [{ price: 1, quantity: 2, orders: 1 }], sell: [] } };
  const { server, client } = await setup((r, res) => {
    switch (r.url.pathname) {
      case '/orders': return ok(res, [ORDER]);
      case `/orders/${ORDER.order_id}`: return ok(res, [{ ...ORDER, status: 'PUT ORDER REQ RECEIVED' }, ORDER]);
      case `/orders/${ORDER.order_id}/trades`: return ok(res, [trade]);
      case '/trades': return ok(res, [trade]);
      case '/portfolio/positions': return ok(res, { net: [pos], day: [pos] });
      case '/portfolio/holdings': return ok(res, [{ tradingsymbol: 'INFY', exchange: 'NSE', instrument_token: 408065, quantity: 5, average_price: 1000 }]);
      case '/user/margins': return ok(res, { equity: { enabled: true, net: 99725.05, available: { cash: 245431.6 }, utilised: { debits: 0 } } });
      case '/quote': return ok(res, { 'NSE:INFY': quote });
      default: return json(res, 404, {});
    }
  });
  try {
    const orders = await client.getOrders();
    assert.equal(orders[0]!.order_id, '1914227164488687616');
    assert.equal((orders[0] as Record<string, unknown>).an_unknown_new_field, true);
    assert.deepEqual((await client.getOrderHistory(ORDER.order_id)).map((o) => o.status), ['PUT ORDER REQ RECEIVED', 'OPEN']);
    assert.equal((await client.getOrderTrades(ORDER.order_id))[0]!.order_id, '151220000000000');
    assert.equal((await client.getTrades()).length, 1);
    assert.equal((await client.getPositions()).net[0]!.quantity, -1);
    assert.equal((await client.getHoldings())[0]!.quantity, 5);
    assert.equal((await client.getMargins()).equity?.net, 99725.05);
    const q = await client.getQuote(['NSE:INFY', 'NSE:SBIN']);
    assert.equal(q['NSE:INFY']!.last_price, 1573.15);
    assert.deepEqual(server.requests.at(-1)!.url.searchParams.getAll('i'), ['NSE:INFY', 'NSE:SBIN']);
  } finally {
    await server.close();
  }
});

test('a response that breaks the contract is a gateway error, not a silently wrong value', async () => {
  const { server, client } = await setup((r, res) => {
    if (r.url.pathname === '/orders/regular') return ok(res, { order_id: 151220000000000 }); // a number would lose digits
    if (r.url.pathname === '/orders') return ok(res, [{ status: 'OPEN' }]);
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>maintenance</html>');
  });
  try {
    await rejectsKind(client.placeOrder('regular', { tradingsymbol: 'X', exchange: 'NSE', transaction_type: 'BUY', order_type: 'MARKET', quantity: 1, product: 'MIS' }), 'GatewayError');
    await rejectsKind(client.getOrders(), 'GatewayError');
    await rejectsKind(client.getPositions(), 'GatewayError');
  } finally {
    await server.close();
  }
});

test('Kite error envelopes become VenueErrors of the right kind with the HTTP status kept', async () => {
  // Every case with an envelope; the bare statuses are the next test's.
  const cases = KITE_ERROR_CASES.filter((c): c is readonly [number, string, string] => c[1] !== undefined);
  let i = 0;
  const { server, client } = await setup((_r, res) => fail(res, cases[i]![0], cases[i]![1]));
  try {
    for (; i < cases.length; i++) {
      const e = await rejectsKind(client.getOrders(), cases[i]![2]);
      assert.equal(e.status, cases[i]![0]);
    }
  } finally {
    await server.close();
  }
});

test('bare 5xx statuses: 500 is a server error, 502/503/504 are gateway errors', async () => {
  let status = 500;
  const { server, client } = await setup((_r, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end('oops');
  });
  try {
    await rejectsKind(client.getOrders(), 'ServerError');
    for (status of [502, 503, 504]) await rejectsKind(client.getOrders(), 'GatewayError');
  } finally {
    await server.close();
  }
});

test('a 429 carries Retry-After and pauses the limiter bucket until then', async () => {
  let retryAfter: string | undefined = '2';
  const { server, client, clock, limiter } = await setup((_r, res) => {
    res.writeHead(429, { 'content-type': 'text/plain', ...(retryAfter ? { 'retry-after': retryAfter } : {}) });
    res.end('Too Many Requests');
  });
  try {
    const e = await rejectsKind(client.getQuote(['NSE:INFY']), 'RateLimited');
    assert.equal(e.retryAfterMs, 2000);
    assert.equal(e.status, 429);
    assert.deepEqual(limiter.pauses, [{ category: 'kite.quote', untilMs: clock.now() + 2000 }]);
    retryAfter = undefined;
    const e2 = await rejectsKind(client.placeOrder('regular', { tradingsymbol: 'X', exchange: 'NSE', transaction_type: 'BUY', order_type: 'MARKET', quantity: 1, product: 'MIS' }), 'RateLimited');
    assert.equal(e2.retryAfterMs, undefined);
    assert.deepEqual(limiter.pauses[1], { category: 'kite.orders', untilMs: clock.now() + 1000 }, 'Kite windows are one second');
    assert.equal(limiter.settled, 2, 'a refused call was counted by the venue too: it counts from its answer');
  } finally {
    await server.close();
  }
});

test('no answer within the timeout is a Timeout, distinct from a refused connection', async () => {
  const { server, client, clock, limiter } = await setup(() => undefined, 5000);
  try {
    const p = client.placeOrder('regular', { tradingsymbol: 'X', exchange: 'NSE', transaction_type: 'BUY', order_type: 'MARKET', quantity: 1, product: 'MIS' });
    const settled = rejectsKind(p, 'Timeout');
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 2));
    await clock.advance(4999);
    let done = false;
    void settled.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(done, false, 'not before the timeout');
    assert.equal(limiter.settled, 0, 'in flight: still counted from its send');
    await clock.advance(1);
    const e = await settled;
    assert.match(e.message, /5000 ms/);
    assert.equal(limiter.settled, 1, 'given up on: counted from now, it may have arrived late');
  } finally {
    await server.close();
  }
});

test('a refused connection is a ConnectionError that proves the order never arrived', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const client = new KiteRestClient({ root: `http://127.0.0.1:${port}`, apiKey: 'k', getAccessToken: () => 't', limiter: new FakeLimiter(), clock: new TestClock() });
  const e = await rejectsKind(client.getOrders(), 'ConnectionError');
  assert.equal(neverArrived(e), true);
});

test('a connection dropped after the request was read may have landed: not marked as never-arrived', async () => {
  const { server, client } = await setup((_r, res) => res.socket?.destroy());
  try {
    const e = await rejectsKind(client.placeOrder('regular', { tradingsymbol: 'X', exchange: 'NSE', transaction_type: 'BUY', order_type: 'MARKET', quantity: 1, product: 'MIS' }), 'ConnectionError');
    assert.equal(neverArrived(e), false);
  } finally {
    await server.close();
  }
});

test('a call without an access token fails as TokenException before anything is sent', async () => {
  const { server, client, setToken, limiter } = await setup((_r, res) => ok(res, []));
  try {
    setToken(undefined);
    await rejectsKind(client.getOrders(), 'TokenException');
    assert.equal(server.requests.length, 0);
    assert.equal(limiter.acquired.length, 0, 'no rate-limit token spent on a call that cannot go');
  } finally {
    await server.close();
  }
});

test('a tag Kite would refuse is refused locally', async () => {
  const { server, client } = await setup((_r, res) => ok(res, { order_id: '1' }));
  try {
    for (const tag of ['x'.repeat(21), 'has space', '']) {
      await rejectsKind(client.placeOrder('regular', { tradingsymbol: 'X', exchange: 'NSE', transaction_type: 'BUY', order_type: 'MARKET', quantity: 1, product: 'MIS', tag }), 'InputException');
    }
    assert.equal(server.requests.length, 0);
  } finally {
    await server.close();
  }
});

test('the session is generated with sha256(api_key + request_token + api_secret) and no auth header', async () => {
  const { server, client } = await setup((_r, res) => ok(res, { user_id: 'AB1234', access_token: 'acc', login_time: '2021-01-01 16:15:14', public_token: 'p' }));
  try {
    const s = await client.generateSession('req-tok', 'the-secret');
    assert.equal(s.access_token, 'acc');
    const form = new URLSearchParams(server.requests[0]!.body);
    assert.equal(form.get('checksum'), createHash('sha256').update('key1req-tokthe-secret').digest('hex'));
    assert.equal(form.get('api_key'), 'key1');
    assert.equal(server.requests[0]!.headers.authorization, undefined);
  } finally {
    await server.close();
  }
});

test('invalidating the session sends the token only to Kite, never into an error message', async () => {
  const { server, client } = await setup((_r, res) => fail(res, 500, 'GeneralException', 'logout failed'));
  try {
    const e = await rejectsKind(client.invalidateSession(), 'GeneralException');
    assert.equal(server.requests[0]!.url.searchParams.get('access_token'), 'tok-secret-1');
    assert.doesNotMatch(e.message + JSON.stringify(e.toWire()), /tok-secret-1/);
  } finally {
    await server.close();
  }
});

test('the instruments dump is parsed from CSV, including quoted names and empty expiries', async () => {
  const csv = [
    'instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange',
    '408065,1594,INFY,INFOSYS,0,,,0.05,1,EQ,NSE,NSE',
    '5720322,22345,NIFTY15DECFUT,,78.0,2015-12-31,,0.05,75,FUT,NFO-FUT,NFO',
    '738561,2885,RELIANCE,"RELIANCE INDUSTRIES, LTD",0,,,0.05,1,EQ,NSE,NSE',
    '',
  ].join('\n');
  const { server, client } = await setup((_r, res) => {
    res.writeHead(200, { 'content-type': 'text/csv' });
    res.end(csv);
  });
  try {
    const list = await client.getInstruments('NSE');
    assert.equal(server.requests[0]!.url.pathname, '/instruments/NSE');
    assert.equal(list.length, 3);
    assert.deepEqual(list[0], {
      instrument_token: 408065, exchange_token: 1594, tradingsymbol: 'INFY', name: 'INFOSYS', last_price: 0, expiry: null,
      strike: 0, tick_size: 0.05, lot_size: 1, instrument_type: 'EQ', segment: 'NSE', exchange: 'NSE',
    });
    assert.equal(list[1]!.expiry, '2015-12-31');
    assert.equal(list[2]!.name, 'RELIANCE INDUSTRIES, LTD');
  } finally {
    await server.close();
  }
});

test('quote calls enforce the per-call instrument limits before spending a request', async () => {
  const { server, client } = await setup((_r, res) => ok(res, {}));
  try {
    await rejectsKind(client.getQuote([]), 'InputException');
    await rejectsKind(client.getQuote(Array.from({ length: 501 }, (_, i) => `NSE:S${i}`)), 'InputException');
    assert.equal(server.requests.length, 0);
  } finally {
    await server.close();
  }
});

test('an order write waits for its write-ahead: held until the log stores it, never sent if the log fails', async () => {
  const { server, client, limiter } = await setup((_r, res) => ok(res, { order_id: '1' }));
  const params = { tradingsymbol: 'INFY', exchange: 'NSE', transaction_type: 'BUY', order_type: 'LIMIT', quantity: 1, product: 'CNC', price: 1573.15, tag: 'i0abc' } as const;
  try {
    let release!: () => void;
    const placing = client.placeOrder('regular', params, { sendAfter: new Promise<void>((r) => { release = r; }) });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.requests.length, 0, 'nothing sent while the log has not stored the write');
    assert.equal(limiter.acquired.length, 1, 'the limiter slot is taken meanwhile');
    release();
    assert.equal((await placing).order_id, '1');
    assert.equal(server.requests.length, 1);
    const refused = new Error('log down');
    await assert.rejects(client.placeOrder('regular', params, { sendAfter: Promise.reject(refused) }), (e) => e === refused);
    assert.equal(server.requests.length, 1, 'the refused write never left');
    assert.equal(limiter.settled, 2, 'its slot is settled all the same');
  } finally {
    await server.close();
  }
});
