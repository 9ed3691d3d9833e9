/**
 * The official kiteconnect client against the sim, unchanged: login with TOTP, session,
 * orders with their status history, trades, portfolio, margins, quotes and instruments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { KiteConnect } from 'kiteconnect';
import { loginForRequestToken, startTestSim } from './helpers.ts';

const INFY = 408065;

test('official KiteConnect client: login, orders, portfolio, quotes, instruments', async () => {
  // Dozens of calls inside one frozen second: the limits have their own tests (rate-limits.test.ts).
  const { sim, clock } = await startTestSim({ enforceRateLimits: false });
  try {
    // The client's .d.ts disagrees with the wire in places (trade order_timestamp is a time-only
    // string, not a Date), so results are checked untyped, against what actually arrives.
    const kc: any = new KiteConnect({ api_key: sim.credentials.apiKey, root: sim.restUrl });
    const requestToken = await loginForRequestToken(sim, clock);
    const session = await kc.generateSession(requestToken, sim.credentials.apiSecret);
    assert.equal(session.user_id, sim.credentials.userId);
    assert.match(session.access_token, /^\w{32}$/);
    assert.ok(session.login_time instanceof Date);

    // The request token is single use.
    await assert.rejects(kc.generateSession(requestToken, sim.credentials.apiSecret), (e: any) => e.error_type === 'TokenException');

    const profile = await kc.getProfile();
    assert.equal(profile.user_id, sim.credentials.userId);

    // Market order fills at once at LTP.
    const { order_id: marketId } = await kc.placeOrder('regular', {
      exchange: 'NSE', tradingsymbol: 'INFY', transaction_type: 'BUY', quantity: 5, product: 'MIS', order_type: 'MARKET', ...{ market_protection: -1 }, tag: 'strat1abc',
    });
    assert.match(marketId, /^\d{15,19}$/);
    const history = await kc.getOrderHistory(marketId);
    assert.deepEqual(
      history.map((h: any) => h.status),
      ['PUT ORDER REQ RECEIVED', 'VALIDATION PENDING', 'OPEN PENDING', 'OPEN', 'COMPLETE'],
    );
    const done = history.at(-1)!;
    assert.equal(done.tag, 'strat1abc');
    assert.deepEqual(done.tags, ['strat1abc']);
    assert.equal(done.filled_quantity, 5);
    assert.equal(done.pending_quantity, 0);
    assert.ok(done.average_price > 1000);
    assert.ok(done.order_timestamp instanceof Date, 'client turns 19-char timestamps into Dates');
    assert.equal(history[0].exchange_order_id, null);
    assert.match(done.exchange_order_id, /^\d+$/);

    // Limit buy below the market rests, crosses after setPrice, completes.
    const ltp = (await kc.getLTP(['NSE:INFY']))['NSE:INFY'].last_price as number;
    const limit = Math.round((ltp - 20) * 20) / 20;
    const { order_id: limitId } = await kc.placeOrder('regular', {
      exchange: 'NSE', tradingsymbol: 'INFY', transaction_type: 'BUY', quantity: 2, product: 'MIS', order_type: 'LIMIT', price: limit, tag: 'lim1',
    });
    let orders = await kc.getOrders();
    assert.equal(orders.find((o: any) => o.order_id === limitId).status, 'OPEN');

    await kc.modifyOrder('regular', limitId, { quantity: 3, price: limit });
    const modHistory = (await kc.getOrderHistory(limitId)).map((h: any) => h.status);
    assert.deepEqual(modHistory.slice(-4), ['MODIFY VALIDATION PENDING', 'MODIFY PENDING', 'MODIFIED', 'OPEN']);

    sim.setPrice(INFY, limit - 0.5);
    orders = await kc.getOrders();
    const filled = orders.find((o: any) => o.order_id === limitId);
    assert.equal(filled.status, 'COMPLETE');
    assert.equal(filled.filled_quantity, 3);
    assert.equal(filled.average_price, limit - 0.5, 'a crossing limit buy fills at the (better) last price');
    assert.equal(filled.modified, true);

    // A sell limit far above the market, then cancelled.
    const { order_id: sellId } = await kc.placeOrder('regular', {
      exchange: 'NSE', tradingsymbol: 'SBIN', transaction_type: 'SELL', quantity: 1, product: 'MIS', order_type: 'LIMIT', price: 5000,
    });
    await kc.cancelOrder('regular', sellId);
    const cancelled = (await kc.getOrderHistory(sellId)).map((h: any) => h.status);
    assert.deepEqual(cancelled.slice(-2), ['CANCEL PENDING', 'CANCELLED']);

    const trades = await kc.getOrderTrades(limitId);
    assert.equal(trades.length, 1);
    assert.equal(trades[0].quantity, 3);
    assert.match(trades[0].order_timestamp, /^\d\d:\d\d:\d\d$/, 'trades carry a time-only order_timestamp');
    assert.ok(trades[0].fill_timestamp instanceof Date);
    const allTrades = await kc.getTrades();
    assert.equal(allTrades.length, 2);
    // "Other" endpoints allow 10 calls per calendar second of sim time.
    await clock.advance(1000);

    const positions = await kc.getPositions();
    const infy = positions.net.find((p: any) => p.tradingsymbol === 'INFY');
    assert.equal(infy.quantity, 8);
    assert.equal(infy.product, 'MIS');
    assert.equal(infy.buy_quantity, 8);
    assert.ok(infy.value < 0, 'value is negative for a net long');
    assert.ok(Math.abs(infy.pnl - (infy.realised + infy.unrealised)) < 0.02);
    assert.deepEqual(positions.day.map((p: any) => p.tradingsymbol), positions.net.map((p: any) => p.tradingsymbol));

    const holdings = await kc.getHoldings();
    assert.ok(holdings.length >= 1);
    assert.ok(holdings.every((h: any) => typeof h.isin === 'string' && h.product === 'CNC'));

    const margins = await kc.getMargins();
    assert.equal(margins.equity.enabled, true);
    assert.ok(margins.equity.utilised.debits > 0);
    const equity = await kc.getMargins('equity');
    assert.equal(equity.net, margins.equity.net);

    // /quote* share a 1 req/s window: step the sim clock between them.
    await clock.advance(1000);
    const quote = await kc.getQuote(['NSE:INFY', 'NSE:NIFTY 50', 'NSE:NOPE']);
    assert.deepEqual(Object.keys(quote).sort(), ['NSE:INFY', 'NSE:NIFTY 50']);
    assert.equal(quote['NSE:INFY'].instrument_token, INFY);
    assert.equal(quote['NSE:INFY'].depth.buy.length, 5);
    assert.equal(quote['NSE:INFY'].depth.sell.length, 5);
    assert.ok(quote['NSE:INFY'].timestamp instanceof Date);
    await clock.advance(1000);
    const ohlc = await kc.getOHLC(['NSE:RELIANCE']);
    assert.equal(ohlc['NSE:RELIANCE'].instrument_token, 738561);
    assert.ok(ohlc['NSE:RELIANCE'].ohlc.high >= ohlc['NSE:RELIANCE'].ohlc.low);
    await clock.advance(1000);
    const ltps = await kc.getLTP(['NSE:TCS', '256265']);
    assert.equal(ltps['NSE:TCS'].instrument_token, 2953217);
    assert.ok(ltps['256265'].last_price > 10000);

    const instruments = await kc.getInstruments();
    const row = instruments.find((i: any) => i.instrument_token === '408065');
    assert.ok(row, 'CSV parsed into objects (exact text/csv content type)');
    assert.equal(row.exchange_token, '1594');
    assert.equal(row.tick_size, 0.05);
    assert.ok(instruments.some((i: any) => i.tradingsymbol === 'NIFTY 50' && i.segment === 'INDICES'));
    const bse = await kc.getInstruments('BSE');
    assert.ok(bse.every((i: any) => i.exchange === 'BSE'));

    // Orders the sim holds, for assertions elsewhere.
    assert.equal(sim.orders().length, 3);

    await kc.invalidateAccessToken();
    await assert.rejects(kc.getProfile(), (e: any) => e.error_type === 'TokenException');
  } finally {
    await sim.close();
  }
});

test('session checksum is sha256(api_key + request_token + api_secret); a wrong one is refused', async () => {
  const { sim, clock } = await startTestSim();
  try {
    const kc = new KiteConnect({ api_key: sim.credentials.apiKey, root: sim.restUrl });
    const rt = await loginForRequestToken(sim, clock);
    await assert.rejects(kc.generateSession(rt, 'not-the-secret'), (e: any) => e.error_type === 'TokenException');
    const rt2 = await loginForRequestToken(sim, clock);
    const expected = createHash('sha256').update(sim.credentials.apiKey + rt2 + sim.credentials.apiSecret).digest('hex');
    const res = await fetch(`${sim.restUrl}/session/token`, {
      method: 'POST',
      headers: { 'X-Kite-Version': '3', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ api_key: sim.credentials.apiKey, request_token: rt2, checksum: expected }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as any;
    assert.equal(body.status, 'success');
  } finally {
    await sim.close();
  }
});
