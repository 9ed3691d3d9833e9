import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import axios, { AxiosError } from 'axios';
import WebSocket from 'ws';
import { AccountApi, Configuration, MarketApi, EventsApi, OrdersApi, PortfolioApi } from 'kalshi-typescript';
import { startKalshiSim, type KalshiSim } from '../../../exchanges/kalshi/index.ts';
import { authHeaders, loadPrivateKey } from '../../../broker/kalshi/signing.ts';
import { eventually } from '../../support/kalshi-helpers.ts';

/**
 * Conformance: the official kalshi-typescript 3.30 client, unmodified, against the built-in
 * exchange. Each API class gets its own axios instance because the SDK adds its signing
 * interceptor to whatever instance it is given (the global one by default).
 */
let sim: KalshiSim;
let cfg: Configuration;
// The SDK's CJS typings name a different (but identical) AxiosInstance type than ESM axios.
type SdkAxios = ConstructorParameters<typeof MarketApi>[2];
const sdkAxios = (ax = axios.create()): SdkAxios => ax as unknown as SdkAxios;
const api = <T>(Ctor: new (c: Configuration, base: string | undefined, ax: SdkAxios) => T): T => new Ctor(cfg, undefined, sdkAxios());

before(async () => {
  sim = await startKalshiSim({ tier: 'premier', seed: 7 });
  cfg = new Configuration({ apiKey: sim.keyId, privateKeyPath: sim.privateKeyPath, basePath: sim.restUrl });
});
after(() => sim.close());

test('the demo key is generated at start and readable by its owner only', () => {
  assert.equal(statSync(sim.privateKeyPath).mode & 0o777, 0o600);
});

test('the account\'s token buckets and endpoint costs come back through the official AccountApi', async () => {
  const account = api(AccountApi);
  const limits = (await account.getAccountApiLimits()).data;
  assert.deepEqual(limits, {
    usage_tier: 'premier', read: { refill_rate: 1000, bucket_capacity: 1000 }, write: { refill_rate: 1000, bucket_capacity: 2000 }, grants: [],
  });
  const costs = (await account.getAccountEndpointCosts()).data;
  assert.equal(costs.default_cost, 10);
  assert.ok(costs.endpoint_costs.some((c) => c.method === 'DELETE' && c.path === '/portfolio/events/orders/{order_id}' && c.cost === 2));
});

test('markets, one market, events and series come back in the official shapes', async () => {
  const markets = api(MarketApi);
  const list = (await markets.getMarkets(3)).data;
  assert.equal(list.markets.length, 3);
  assert.ok(list.cursor, 'a first page of 3 out of 7 has a cursor');
  const rest = (await markets.getMarkets(100, list.cursor)).data;
  assert.equal(list.markets.length + rest.markets.length, sim.markets.length);
  assert.equal(rest.cursor, '');
  const one = (await markets.getMarket(sim.markets[0]!)).data.market;
  assert.equal(one.ticker, sim.markets[0]);
  assert.equal(one.status, 'active');
  assert.match(one.yes_bid_dollars, /^0\.\d{4}$/);
  const ev = (await api(EventsApi).getEvent(one.event_ticker)).data;
  assert.ok(ev.markets.some((m) => m.ticker === one.ticker));
  const series = (await markets.getSeries(ev.event.series_ticker)).data.series;
  assert.equal(series.ticker, ev.event.series_ticker);
});

test('the order book lists bids only on both sides, ascending, best last', async () => {
  const book = (await api(MarketApi).getMarketOrderbook(sim.markets[0]!)).data.orderbook_fp;
  assert.equal(book.yes_dollars.length, 5);
  const yes = book.yes_dollars.map(([p]) => p!);
  assert.deepEqual([...yes].sort(), yes);
  const bestYesBid = Number(yes.at(-1)!.replace('.', ''));
  const bestNoBid = Number(book.no_dollars.at(-1)![0]!.replace('.', ''));
  assert.ok(bestYesBid + bestNoBid < 10_000, 'YES bid + NO bid < $1: the book is not crossed');
});

test('create, cancel and batch orders through the V2 events/orders endpoints', async () => {
  const orders = api(OrdersApi);
  const ticker = sim.markets[1]!;
  const created = await orders.createOrderV2({
    ticker, side: 'bid', price: '0.0500', count: '3.00', client_order_id: 'conf-1',
    time_in_force: 'good_till_canceled', self_trade_prevention_type: 'taker_at_cross',
  });
  assert.equal(created.status, 201);
  assert.equal(created.data.client_order_id, 'conf-1');
  assert.equal(created.data.remaining_count, '3.00');
  const got = (await orders.getOrder(created.data.order_id)).data.order;
  assert.equal(got.book_side, 'bid');
  assert.equal(got.status, 'resting');
  const canceled = (await orders.cancelOrderV2(created.data.order_id)).data;
  assert.equal(canceled.reduced_by, '3.00');

  const batch = (await orders.batchCreateOrdersV2({
    orders: [
      { ticker, side: 'bid', price: '0.0200', count: '1.00', client_order_id: 'conf-b1', time_in_force: 'good_till_canceled', self_trade_prevention_type: 'taker_at_cross' },
      { ticker, side: 'ask', price: '0.9800', count: '1.00', client_order_id: 'conf-b2', time_in_force: 'good_till_canceled', self_trade_prevention_type: 'taker_at_cross' },
      { ticker: 'NO-SUCH-MARKET', side: 'bid', price: '0.5000', count: '1.00', client_order_id: 'conf-b3', time_in_force: 'good_till_canceled', self_trade_prevention_type: 'taker_at_cross' },
    ],
  })).data.orders;
  assert.equal(batch.filter((o) => !o.error).length, 2);
  assert.equal(batch[2]!.error?.code, 'market_not_found');
  const ids = batch.filter((o) => o.order_id).map((o) => ({ order_id: o.order_id! }));
  const cancels = (await orders.batchCancelOrdersV2({ orders: ids })).data.orders;
  assert.deepEqual(cancels.map((c) => c.reduced_by), ['1.00', '1.00']);
  assert.equal(sim.orders().filter((o) => o.status === 'resting').length, 0);
});

test('every change the official client makes to an order (create, decrease, amend, cancel) is pushed on the user_orders channel, and only for the markets asked for', async () => {
  const [ticker, other] = [sim.markets[3]!, sim.markets[4]!];
  const creds = { keyId: sim.keyId, privateKey: loadPrivateKey({ path: sim.privateKeyPath }) };
  const ws = new WebSocket(sim.wsUrl, { headers: { ...authHeaders(creds, 'GET', sim.wsUrl, Date.now()) } });
  const got: Array<{ type: string; msg: Record<string, unknown> }> = [];
  ws.on('message', (d) => got.push(JSON.parse(String(d)) as { type: string; msg: Record<string, unknown> }));
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  try {
    ws.send(JSON.stringify({ id: 1, cmd: 'subscribe', params: { channels: ['user_orders'], market_tickers: [ticker] } }));
    await eventually(() => got.some((m) => m.type === 'subscribed'), 'subscribed');
    const orders = api(OrdersApi);
    const order = (o: { ticker: string; client_order_id: string }) => orders.createOrderV2({
      ...o, side: 'bid', price: '0.0300', count: '5.00', time_in_force: 'good_till_canceled', self_trade_prevention_type: 'taker_at_cross',
    });
    await order({ ticker: other, client_order_id: 'uo-other' });
    const id = (await order({ ticker, client_order_id: 'uo-1' })).data.order_id;
    await orders.decreaseOrderV2(id, { reduce_to: '3.00' });
    await orders.amendOrderV2(id, { ticker, side: 'bid', price: '0.0400', count: '4.00' });
    await orders.cancelOrderV2(id);
    const pushes = () => got.filter((m) => m.type === 'user_order').map((m) => m.msg);
    await eventually(() => pushes().length >= 4, 'four user_order pushes');
    assert.deepEqual(pushes().map((m) => [m.order_id, m.client_order_id, m.status, m.yes_price_dollars, m.remaining_count_fp, m.initial_count_fp, m.last_update_reason]), [
      [id, 'uo-1', 'resting', '0.0300', '5.00', '5.00', undefined],
      [id, 'uo-1', 'resting', '0.0300', '3.00', '5.00', 'Decrease'],
      [id, 'uo-1', 'resting', '0.0400', '4.00', '4.00', 'Amend'],
      [id, 'uo-1', 'canceled', '0.0400', '0.00', '4.00', undefined],
    ], 'the order on the other market is not pushed to a subscription for this one');
  } finally {
    ws.terminate();
  }
});

test('a marketable order fills, and shows up in positions, fills and balance', async () => {
  const ticker = sim.markets[2]!;
  const portfolio = api(PortfolioApi);
  const before = (await portfolio.getBalance()).data.balance;
  const book = (await api(MarketApi).getMarketOrderbook(ticker)).data.orderbook_fp;
  const bestNo = book.no_dollars.at(-1)!;
  const askCents = 100 - Number(bestNo[0]!.slice(2, 4));
  const r = (await api(OrdersApi).createOrderV2({
    ticker, side: 'bid', price: `0.${String(askCents).padStart(2, '0')}00`, count: '2.00', client_order_id: 'conf-take',
    time_in_force: 'immediate_or_cancel', self_trade_prevention_type: 'taker_at_cross',
  })).data;
  assert.equal(r.fill_count, '2.00');
  const pos = (await portfolio.getPositions(undefined, undefined, undefined, ticker)).data.market_positions;
  assert.equal(pos[0]?.position_fp, '2.00');
  const fills = (await portfolio.getFills(ticker)).data.fills;
  assert.equal(fills.length, 1);
  assert.equal(fills[0]!.is_taker, true);
  // The taker fee, 0.07 × 2 × P × (1 − P) rounded up to a micro-dollar, with Kalshi's 6 decimals.
  const feeMicros = Math.ceil((7 * 200 * askCents * 100 * (10_000 - askCents * 100)) / 1_000_000);
  assert.equal(fills[0]!.fee_cost, `0.${String(feeMicros).padStart(6, '0')}`);
  const after = (await portfolio.getBalance()).data.balance;
  const spentMicros = 2 * askCents * 10_000 + feeMicros;
  // balance is whole cents: the difference of two floors is the spend rounded down or up
  assert.ok([Math.floor(spentMicros / 10_000), Math.ceil(spentMicros / 10_000)].includes(before - after), `two contracts at the ask plus the fee, in cents: ${before - after}`);
});

test('a tampered signature is refused with 401', async () => {
  // transformRequest runs after every request interceptor, i.e. after the SDK has signed.
  const ax = axios.create({
    transformRequest: [(data, headers) => {
      const sig = Buffer.from(String(headers['KALSHI-ACCESS-SIGNATURE']), 'base64');
      sig[0] = (sig[0] ?? 0) ^ 1;
      headers['KALSHI-ACCESS-SIGNATURE'] = sig.toString('base64');
      return data;
    }],
  });
  const portfolio = new PortfolioApi(cfg, undefined, sdkAxios(ax));
  await assert.rejects(portfolio.getBalance(), (e: AxiosError) => e.response?.status === 401);
  // and an unsigned portfolio call is refused too
  await assert.rejects(axios.get(`${sim.restUrl}/portfolio/balance`), (e: AxiosError) => e.response?.status === 401);
});
