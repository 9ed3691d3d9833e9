/**
 * An NSE index future on the built-in exchange, through the official kiteconnect client:
 * listed in the instruments dump with its lot, tick and expiry, traded in whole lots, refused
 * (400 InputException, no order) for a part lot or a price off its 0.10 grid, and streamed by
 * the ticker in the tradable layout with open interest in full mode.
 * The JS ticker keeps module-global state, so this file owns the only KiteTicker in its process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KiteConnect, KiteTicker } from 'kiteconnect';
import type { KiteSim } from '../../../exchanges/kite/index.ts';
import { connectTicker, eventually, kiteFetch, startTestSim } from './helpers.ts';

const FUT = { token: 28_944_130, exchangeToken: 113_063, symbol: 'NIFTY26DECFUT', key: 'NFO:NIFTY26DECFUT', lot: 65 } as const;
const INFY = 408065;

type Tick = Record<string, any>;

function client(sim: KiteSim): any {
  return new KiteConnect({ api_key: sim.credentials.apiKey, access_token: sim.issueAccessToken(), root: sim.restUrl });
}

const onGrid = (rupees: number, tickPaise: number) => Math.round(rupees * 100) % tickPaise === 0;
const futOrder = (over: Record<string, unknown>) => ({
  exchange: 'NFO', tradingsymbol: FUT.symbol, transaction_type: 'BUY', quantity: FUT.lot, product: 'NRML', order_type: 'MARKET', ...{ market_protection: -1 }, ...over,
});

test('the NIFTY future is in the instruments dump with its token, lot size, tick size and expiry', async () => {
  const { sim } = await startTestSim({ enforceRateLimits: false });
  try {
    const kc = client(sim);
    const all = await kc.getInstruments();
    const row = all.find((i: any) => i.tradingsymbol === FUT.symbol);
    assert.ok(row, 'listed in the full dump');
    assert.deepEqual(
      { token: row.instrument_token, exchangeToken: row.exchange_token, name: row.name, type: row.instrument_type, segment: row.segment, exchange: row.exchange, lot: row.lot_size, tick: row.tick_size, strike: row.strike },
      { token: String(FUT.token), exchangeToken: String(FUT.exchangeToken), name: 'NIFTY', type: 'FUT', segment: 'NFO-FUT', exchange: 'NFO', lot: FUT.lot, tick: 0.1, strike: 0 },
    );
    assert.equal(FUT.token, (FUT.exchangeToken << 8) | 2, 'token = exchange_token << 8 | NFO segment id 2');
    assert.ok(row.expiry instanceof Date, 'the client turns a 10-character expiry into a Date');
    assert.equal(row.expiry.toISOString().slice(0, 10), '2026-12-29');
    assert.equal(all.find((i: any) => i.tradingsymbol === 'INFY').expiry, '', 'equities have no expiry');

    const nfo = await kc.getInstruments('NFO');
    assert.ok(nfo.length >= 1 && nfo.every((i: any) => i.exchange === 'NFO'));
    assert.ok(nfo.some((i: any) => i.tradingsymbol === FUT.symbol));

    const q = (await kc.getQuote([FUT.key]))[FUT.key];
    assert.equal(q.instrument_token, FUT.token);
    assert.ok(q.last_price > 20_000 && onGrid(q.last_price, 10), `last price ${q.last_price} on the 0.10 grid`);
    assert.equal(q.ohlc.close, 24425);
    assert.ok(q.oi > 0 && q.oi % FUT.lot === 0, `open interest ${q.oi} in whole lots`);
    assert.ok(q.oi_day_high >= q.oi && q.oi >= q.oi_day_low);
    for (const l of [...q.depth.buy, ...q.depth.sell]) {
      assert.ok(l.quantity % FUT.lot === 0 && l.quantity > 0, `depth quantity ${l.quantity} in whole lots`);
      assert.ok(onGrid(l.price, 10), `depth price ${l.price} on the grid`);
    }
    assert.equal((await kc.getQuote(['NSE:INFY']))['NSE:INFY'].oi, 0, 'the cash market has no open interest');
  } finally {
    await sim.close();
  }
});

test('whole lots are placed and fill, NRML and MIS; positions and trades stay in whole lots', async () => {
  const { sim, clock } = await startTestSim({ enforceRateLimits: false });
  try {
    const kc = client(sim);
    const { order_id: marketId } = await kc.placeOrder('regular', futOrder({ tag: 'fut1' }));
    const done = (await kc.getOrderHistory(marketId)).at(-1);
    assert.equal(done.status, 'COMPLETE', JSON.stringify(done));
    assert.equal(done.filled_quantity, FUT.lot);
    assert.equal(done.exchange, 'NFO');
    assert.equal(done.instrument_token, FUT.token);
    assert.ok(onGrid(done.average_price, 10), `filled at ${done.average_price}, on the grid`);

    // A MIS limit buy of two lots through the market: fills at most the best offer per step,
    // and the best offer is whole lots, so every state shows whole lots filled.
    const ltp = (await kc.getLTP([FUT.key]))[FUT.key].last_price as number;
    const limit = Math.round((ltp + 50) * 10) / 10;
    const { order_id: limitId } = await kc.placeOrder('regular', futOrder({ quantity: 2 * FUT.lot, product: 'MIS', order_type: 'LIMIT', price: limit }));
    for (let i = 0; i < 20 && (await kc.getOrderHistory(limitId)).at(-1).status !== 'COMPLETE'; i++) await clock.advance(500);
    const history = await kc.getOrderHistory(limitId);
    assert.equal(history.at(-1).status, 'COMPLETE');
    assert.ok(history.every((h: any) => h.filled_quantity % FUT.lot === 0), `filled ${history.map((h: any) => h.filled_quantity)}`);
    assert.equal(history.at(-1).price, limit);

    const trades = await kc.getTrades();
    assert.ok(trades.length >= 2 && trades.every((t: any) => t.quantity % FUT.lot === 0 && t.exchange === 'NFO'));
    const positions = await kc.getPositions();
    const byProduct = Object.fromEntries(positions.net.filter((p: any) => p.tradingsymbol === FUT.symbol).map((p: any) => [p.product, p.quantity]));
    assert.deepEqual(byProduct, { NRML: FUT.lot, MIS: 2 * FUT.lot });

    // A sell of one lot on a tick-grid trigger is taken (and rests until the price falls to it).
    const { order_id: stopId } = await kc.placeOrder('regular', futOrder({ transaction_type: 'SELL', order_type: 'SL-M', trigger_price: Math.round((ltp - 500) * 10) / 10 }));
    assert.equal((await kc.getOrderHistory(stopId)).at(-1).status, 'TRIGGER PENDING');
    assert.equal(sim.orders().length, 3);
  } finally {
    await sim.close();
  }
});

test('a quantity that is not whole lots and a price or trigger off the tick grid are refused with 400 InputException, and no order exists', async () => {
  const { sim } = await startTestSim({ enforceRateLimits: false });
  try {
    const kc = client(sim);
    const token = sim.issueAccessToken();
    const ltp = (await kc.getLTP([FUT.key]))[FUT.key].last_price as number;
    const onTick = Math.round(ltp * 10) / 10;

    const refused = async (params: Record<string, unknown>, message: RegExp) => {
      await assert.rejects(kc.placeOrder('regular', futOrder(params)), (e: any) => {
        assert.equal(e.error_type, 'InputException', JSON.stringify(e));
        assert.match(e.message, message);
        return true;
      });
    };
    await refused({ quantity: 50 }, /^Quantity should be in multiples of lot size\. Lot size for this script is 65\.$/);
    await refused({ quantity: 75, product: 'MIS' }, /lot size for this script is 65/i);
    await refused({ order_type: 'LIMIT', price: onTick + 0.05 },
      /^Tick size for this script is 0\.10\. Kindly enter price in the multiple of tick size for this script$/);
    await refused({ order_type: 'LIMIT', price: onTick + 0.001 }, /^Tick size for this script is 0\.10\. Kindly enter price/);
    await refused({ transaction_type: 'SELL', order_type: 'SL-M', trigger_price: onTick - 100.05 },
      /^Tick size for this script is 0\.10\. Kindly enter trigger price in the multiple of tick size for this script$/);
    await refused({ transaction_type: 'SELL', order_type: 'SL', price: onTick - 100.2, trigger_price: onTick - 100.15 }, /Kindly enter trigger price/);

    // The wire: HTTP 400 and Kite's error envelope.
    const res = await kiteFetch(sim, '/orders/regular', {
      method: 'POST', token,
      body: new URLSearchParams({ exchange: 'NFO', tradingsymbol: FUT.symbol, transaction_type: 'BUY', quantity: '50', product: 'NRML', order_type: 'MARKET', market_protection: '-1' }),
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      status: 'error', message: 'Quantity should be in multiples of lot size. Lot size for this script is 65.', error_type: 'InputException', data: null,
    });
    assert.equal(sim.orders().length, 0, 'refused before any order existed');

    // The cash market keeps its 0.05 grid and its lot of one.
    await assert.rejects(
      kc.placeOrder('regular', { exchange: 'NSE', tradingsymbol: 'INFY', transaction_type: 'BUY', quantity: 7, product: 'MIS', order_type: 'LIMIT', price: 1500.03 }),
      (e: any) => e.error_type === 'InputException' && e.message === 'Tick size for this script is 0.05. Kindly enter price in the multiple of tick size for this script',
    );
    sim.setPrice(INFY, 1600);
    const { order_id: infyId } = await kc.placeOrder('regular', { exchange: 'NSE', tradingsymbol: 'INFY', transaction_type: 'BUY', quantity: 7, product: 'MIS', order_type: 'LIMIT', price: 1500.05 });
    assert.equal((await kc.getOrderHistory(infyId)).at(-1).status, 'OPEN');

    // A modify is held to the same rules; the resting order is left as it was.
    const below = Math.round((ltp - 300) * 10) / 10;
    const { order_id: restingId } = await kc.placeOrder('regular', futOrder({ order_type: 'LIMIT', price: below }));
    await assert.rejects(kc.modifyOrder('regular', restingId, { quantity: 100 }), (e: any) => e.error_type === 'InputException' && /lot size/i.test(e.message));
    await assert.rejects(kc.modifyOrder('regular', restingId, { price: below + 0.05 }), (e: any) => e.error_type === 'InputException' && /Tick size for this script is 0\.10/.test(e.message));
    await kc.modifyOrder('regular', restingId, { quantity: 3 * FUT.lot, price: below + 0.1 });
    const resting = (await kc.getOrders()).find((o: any) => o.order_id === restingId);
    assert.deepEqual({ status: resting.status, qty: resting.quantity, price: resting.price }, { status: 'OPEN', qty: 3 * FUT.lot, price: Math.round((below + 0.1) * 10) / 10 });
    assert.equal(sim.orders().length, 2);
  } finally {
    await sim.close();
  }
});

test('official KiteTicker parses quote and full ticks for the future; full mode carries open interest', async () => {
  const { sim, clock } = await startTestSim();
  const ticker: any = new KiteTicker({ api_key: sim.credentials.apiKey, access_token: sim.issueAccessToken(), root: sim.wsUrl, reconnect: false } as any);
  const ticks: Tick[] = [];
  const packetLengths: number[] = [];
  ticker.on('ticks', (t: Tick[]) => ticks.push(...t));
  ticker.on('message', (buf: ArrayBuffer) => {
    if (buf.byteLength < 4) return;
    const v = new DataView(buf);
    for (let n = v.getUint16(0), at = 2; n > 0; n--) {
      const len = v.getUint16(at);
      if (v.getUint32(at + 2) === FUT.token) packetLengths.push(len);
      at += 2 + len;
    }
  });
  await connectTicker(ticker);

  try {
    ticker.subscribe([FUT.token]);
    await eventually(() => ticks.some((t) => t.instrument_token === FUT.token), 'quote snapshot');
    const q = ticks.find((t) => t.instrument_token === FUT.token)!;
    assert.deepEqual({ mode: q.mode, tradable: q.tradable, close: q.ohlc.close }, { mode: 'quote', tradable: true, close: 24425 });
    assert.ok(onGrid(q.last_price, 10), `last price ${q.last_price} on the 0.10 grid (divisor 100 for NFO)`);
    assert.ok(q.last_traded_quantity > 0 && q.last_traded_quantity % FUT.lot === 0);
    assert.ok(q.volume_traded % FUT.lot === 0);
    assert.equal(packetLengths[0], 44, 'quote mode: the 44-byte tradable packet');

    ticks.length = 0;
    packetLengths.length = 0;
    ticker.setMode('full', [FUT.token]);
    await eventually(() => ticks.some((t) => t.mode === 'full'), 'full snapshot');
    const f = ticks.find((t) => t.mode === 'full')!;
    assert.equal(packetLengths.at(-1), 184, 'full mode: the 184-byte tradable packet');
    assert.ok(f.oi > 0 && f.oi % FUT.lot === 0, `open interest ${f.oi}`);
    assert.ok(f.oi_day_high >= f.oi && f.oi >= f.oi_day_low && f.oi_day_low > 0);
    assert.equal(f.depth.buy.length, 5);
    assert.ok(f.depth.buy[0].price < f.depth.sell[0].price);
    assert.ok([...f.depth.buy, ...f.depth.sell].every((l: Tick) => l.quantity % FUT.lot === 0 && onGrid(l.price, 10)));
    assert.ok(f.exchange_timestamp instanceof Date && f.last_trade_time instanceof Date);
    const quote = (await (await kiteFetch(sim, `/quote?i=${FUT.key}`, { token: sim.issueAccessToken() })).json()) as any;
    assert.equal(quote.data[FUT.key].oi, f.oi, 'the ticker and /quote agree on open interest');

    // Steps of the seeded path and a forced price both reach the subscriber, on the grid.
    ticks.length = 0;
    await clock.advance(500);
    await eventually(() => ticks.some((t) => t.mode === 'full'), 'tick after a price step');
    ticks.length = 0;
    sim.setPrice(FUT.token, 24500.07);
    await eventually(() => ticks.some((t) => t.last_price === 24500.1), 'forced price, snapped to the 0.10 grid');
  } finally {
    ticker.disconnect();
    await sim.close();
  }
});
