import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../actors/clock.ts';
import { createLogger } from '../../actors/logger.ts';
import { KiteAdapter, type KiteTickerPort } from './adapter.ts';
import type { KiteInstrument } from './instruments.ts';
import type { KiteRetry } from './retry.ts';
import type { KiteOrderWriter } from './order-writer.ts';
import type { KiteRestClient } from './rest-client.ts';
import { VenueError } from '../venue-errors.ts';

const instrument = (over: Partial<KiteInstrument>): KiteInstrument => ({
  instrument_token: 408065, exchange_token: 1594, tradingsymbol: 'INFY', name: 'INFOSYS', last_price: 0, expiry: null, strike: 0,
  tick_size: 0.05, lot_size: 1, instrument_type: 'EQ', segment: 'NSE', exchange: 'NSE', ...over,
});

async function adapterWith(instruments: KiteInstrument[], failures: Error[] = []): Promise<KiteAdapter> {
  const noTicker: KiteTickerPort = {
    connect: async () => undefined, close: async () => undefined, setWanted: () => undefined, isOpen: () => true,
    onTick: () => undefined, onOrder: () => undefined, onDisconnected: () => undefined, onReconnected: () => undefined, onReconcile: () => undefined,
  };
  const rest = { getInstruments: async () => { const f = failures.shift(); if (f) throw f; return instruments; } } as unknown as KiteRestClient;
  const adapter = new KiteAdapter({ rest, writer: {} as KiteOrderWriter, retry: { read: (_label: string, call: () => Promise<unknown>) => call() } as unknown as KiteRetry, ticker: noTicker, clock: new TestClock(), log: createLogger({ level: 'silent' }) });
  await adapter.start();
  await adapter.stop();
  return adapter;
}

const order = (symbol: string, qty: number, limitPrice?: number) =>
  ({ intentId: 'i1', symbol, side: 'BUY' as const, qty, orderType: limitPrice === undefined ? 'MARKET' as const : 'LIMIT' as const, ...(limitPrice !== undefined ? { limitPrice } : {}) });

test('an F&O quantity that is not whole lots is refused before it is sent, naming the lot size', async () => {
  const a = await adapterWith([instrument({ instrument_token: 13238786, tradingsymbol: 'NIFTY26DECFUT', exchange: 'NFO', segment: 'NFO-FUT', instrument_type: 'FUT', lot_size: 75, tick_size: 0.1 })]);
  assert.deepEqual(a.checkOrder(order('NFO:NIFTY26DECFUT', 50)), {
    rule: 'lot_size', reason: 'NFO:NIFTY26DECFUT trades in lots of 75 units; 50 is not a whole number of lots', figures: { limit: 75, actual: 50 },
  });
  assert.equal(a.checkOrder(order('NFO:NIFTY26DECFUT', 150)), undefined);
  assert.equal(a.checkOrder(order('NFO:NIFTY26DECFUT', 150, 2_450_005))?.rule, 'tick_size', 'a 0.10 grid');
  assert.equal(a.checkOrder(order('NFO:NIFTY26DECFUT', 150, 2_450_010)), undefined);
});

test('a limit price off the instrument\'s tick grid is refused; a market order has no price to check', async () => {
  const a = await adapterWith([instrument({})]);
  assert.deepEqual(a.checkOrder(order('NSE:INFY', 1, 150_003)), {
    rule: 'tick_size', reason: 'NSE:INFY prices move in steps of 5 paise; 150003 is off the grid', figures: { limit: 5, actual: 150_003 },
  });
  assert.equal(a.checkOrder(order('NSE:INFY', 1, 150_005)), undefined);
  assert.equal(a.checkOrder(order('NSE:INFY', 7)), undefined);
  assert.equal(a.checkOrder(order('NSE:NOSUCH', 1))?.rule, 'unknown_instrument');
});

test('a start whose instrument list is rate-limited tries again; any other failure ends the start', async () => {
  const limited = () => new VenueError({ venue: 'kite', kind: 'RateLimited', message: 'Kite GET /instruments: 429' });
  const a = await adapterWith([instrument({})], [limited(), limited()]);
  assert.equal(a.checkOrder(order('NSE:INFY', 1, 150_005)), undefined, 'started with the list');
  await assert.rejects(adapterWith([instrument({})], [new VenueError({ venue: 'kite', kind: 'TokenException', message: 'expired' })]), /expired/);
});
