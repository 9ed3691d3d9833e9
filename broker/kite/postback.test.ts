import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../actors/clock.ts';
import { createLogger } from '../../actors/logger.ts';
import { registry } from '../../actors/metrics.ts';
import type { VenueOrder } from '../venue.ts';
import { KiteAdapter, type KiteTickerPort } from './adapter.ts';
import type { KiteRetry } from './retry.ts';
import type { KiteOrderWriter } from './order-writer.ts';
import { checkPostback, postbackChecksum, startPostbackServer } from './postback.ts';
import type { KiteRestClient } from './rest-client.ts';

const SECRET = 'apisecret0123456789';
const quiet = createLogger({ level: 'silent' });

function order(over: Record<string, unknown> = {}) {
  const base = {
    order_id: '250101000000042', order_timestamp: '2026-11-23 10:00:00', exchange_update_timestamp: '2026-11-23 10:00:01',
    status: 'OPEN', tradingsymbol: 'INFY', exchange: 'NSE', transaction_type: 'BUY', quantity: 10, filled_quantity: 0,
    pending_quantity: 10, price: 1500, average_price: 0, tag: 'abc123', user_id: 'AB1234',
    ...over,
  } as Record<string, unknown>;
  return { ...base, checksum: postbackChecksum(base.order_id as string, base.order_timestamp as string, SECRET), ...('checksum' in over ? { checksum: over.checksum } : {}) };
}

/** The adapter with its network edges unused: only the order-report door is exercised here. */
function adapterAlone() {
  const noTicker: KiteTickerPort = {
    connect: async () => undefined, close: async () => undefined, setWanted: () => undefined, isOpen: () => true,
    onTick: () => undefined, onOrder: () => undefined, onDisconnected: () => undefined, onReconnected: () => undefined, onReconcile: () => undefined,
  };
  const adapter = new KiteAdapter({ rest: {} as KiteRestClient, writer: {} as KiteOrderWriter, retry: {} as KiteRetry, ticker: noTicker, clock: new TestClock(), log: quiet });
  const seen: VenueOrder[] = [];
  adapter.on('order', (o) => seen.push(o));
  return { adapter, seen };
}

async function withServer(fn: (url: string, seen: VenueOrder[]) => Promise<void>) {
  const { adapter, seen } = adapterAlone();
  const srv = await startPostbackServer({ host: '127.0.0.1', port: 0, apiSecret: SECRET, userId: 'AB1234', onOrder: (o) => void adapter.ingest(o, 'postback'), log: quiet });
  try {
    await fn(srv.url, seen);
  } finally {
    await srv.close();
  }
}
const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

test("a postback is genuine only when its checksum is SHA-256(order_id + order_timestamp + api_secret)", () => {
  assert.equal(checkPostback(order(), SECRET).ok, true);
  assert.deepEqual(checkPostback(order(), 'another-secret'), { ok: false, result: 'bad_checksum', reason: 'checksum does not match' });
  // Changing any signed field breaks it; so does a checksum of the wrong shape.
  assert.equal(checkPostback({ ...order(), order_id: '250101000000043' }, SECRET).ok, false);
  assert.equal(checkPostback({ ...order(), checksum: 'zz' }, SECRET).ok, false);
  assert.equal(checkPostback({ ...order(), order_timestamp: undefined }, SECRET).ok, false);
  assert.equal(checkPostback(order({ user_id: 'XY9999' }), SECRET, 'AB1234').ok, false);
});

test('a forged postback is answered 400 and changes nothing; a genuine one reaches the adapter', async () => {
  await withServer(async (url, seen) => {
    const forged = order({ status: 'COMPLETE', filled_quantity: 10, checksum: 'ab'.repeat(32) });
    const res = await post(url, forged);
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { status: 'error', message: 'checksum does not match' });
    assert.equal(seen.length, 0, 'no state change from a forged postback');

    const ok = await post(url, order());
    assert.equal(ok.status, 200);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.state, 'open');
    assert.equal(seen[0]!.venueOrderId, '250101000000042');
    const metrics = await registry.metrics();
    assert.match(metrics, /orch_kite_postbacks_total\{result="bad_checksum"\} [1-9]/);
    assert.match(metrics, /orch_kite_postbacks_total\{result="accepted"\} [1-9]/);
  });
});

test('malformed bodies, wrong methods and oversized bodies are refused without reaching the adapter', async () => {
  await withServer(async (url, seen) => {
    assert.equal((await post(url, 'not json')).status, 400);
    assert.equal((await post(url, { hello: 'world' })).status, 400);
    assert.equal((await post(url, order({ quantity: 'ten' }))).status, 400);
    assert.equal((await fetch(url)).status, 405);
    assert.equal((await post(url.replace('/kite/postback', '/other'), order())).status, 404);
    assert.equal((await post(url, { ...order(), pad: 'x'.repeat(70_000) })).status, 413);
    assert.equal(seen.length, 0);
  });
});

test('the same update by postback and ticker, and an older one after it, move the order once', async () => {
  const { adapter, seen } = adapterAlone();
  const open = order();
  const partial = order({ status: 'UPDATE', filled_quantity: 4, pending_quantity: 6, exchange_update_timestamp: '2026-11-23 10:00:05' });
  const done = order({ status: 'COMPLETE', filled_quantity: 10, pending_quantity: 0, average_price: 1500, exchange_update_timestamp: '2026-11-23 10:00:09' });
  assert.equal(adapter.ingest(open, 'postback').kind, 'apply');
  assert.equal(adapter.ingest(open, 'ticker').kind, 'duplicate');
  assert.equal(adapter.ingest(partial, 'ticker').kind, 'apply');
  assert.equal(adapter.ingest(done, 'postback').kind, 'apply');
  assert.equal(adapter.ingest(partial, 'postback').kind, 'stale');
  assert.equal(adapter.ingest(done, 'poll').kind, 'duplicate');
  assert.equal(adapter.ingest(order({ status: 'CANCELLED', filled_quantity: 10 }), 'poll').kind, 'impossible');
  assert.equal(adapter.ingest({ order_id: 5 }, 'ticker').kind, 'invalid');
  assert.deepEqual(seen.map((o) => [o.state, o.filledQty]), [['open', 0], ['partially_filled', 4], ['filled', 10]]);
});

test('WebSocket order frames carry a blank checksum: the ticker path takes them (only postbacks are verified)', () => {
  const { adapter, seen } = adapterAlone();
  const frame = { ...order({ order_id: '2612030000000000042', status: 'COMPLETE', filled_quantity: 10, pending_quantity: 0, average_price: 1500 }), checksum: '' };
  assert.equal(adapter.ingest(frame, 'ticker').kind, 'apply');
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.venueOrderId, '2612030000000000042', 'a 19-digit id kept exactly');
  assert.equal(seen[0]!.state, 'filled');
  assert.equal(checkPostback(frame, SECRET).ok, false, 'the same frame as a postback would be refused');
});

test('an order report with a status outside the table (NOT MODIFIED) reaches the broker with that status, not dropped', () => {
  const { adapter, seen } = adapterAlone();
  adapter.ingest(order(), 'rest');
  assert.equal(adapter.ingest(order({ status: 'NOT MODIFIED', exchange_update_timestamp: '2026-11-23 10:00:05' }), 'ticker').kind, 'apply');
  assert.equal(seen.length, 2);
  assert.equal(seen[1]!.venueStatus, 'NOT MODIFIED');
  assert.equal(seen[1]!.state, 'open', 'the order is still live');
});
