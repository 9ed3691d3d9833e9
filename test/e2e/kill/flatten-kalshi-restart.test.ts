import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer } from '../../support/nats-server.ts';
import { eventually, fixture } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { startSystem, type System } from '../../../supervisor/system.ts';
import { startKalshiSim, type KalshiSim } from '../../../exchanges/kalshi/index.ts';
import { connectBus, requestParsed } from '../../../actors/bus.ts';
import { subjects } from '../../../actors/subjects.ts';
import { newIntentId } from '../../../actors/ids.ts';
import { IntentReplySchema, IntentSchema, type IntentReply, type Side } from '../../../actors/messages.ts';
import { runFlatten } from '../../../supervisor/commands/flatten.ts';
import { runKill } from '../../../supervisor/commands/kill.ts';
import { log } from '../../support/kill-harness.ts';

/**
 * A Kalshi flatten after a broker restart. The exchange outlives the broker (a Kalshi account
 * on the built-in exchange, as a live account would); the first system opens a long and a short
 * and leaves one buy resting, then stops; the second one starts on the same NATS and state,
 * knows the positions only from replaying its event log, and `orch flatten --strategy` then
 * kill level 4 close them at the exchange: exactly the positions, the resting buy cancelled,
 * nothing of the first system sent again.
 */
const LONG = 'KXFED-26DEC-T4.00';
const SHORT = 'KXFED-26DEC-T4.25';
const RISK = { maxOrderQty: 1000, maxOrderValue: 100_000_000, maxPosition: 2000, maxOpenOrders: 10, priceBandBps: 9000, ordersPerMinute: 600 };

test('after a broker restart, a Kalshi flatten (orch flatten, then kill level 4) closes the replayed positions at the exchange exactly, with no order sent twice', async (t) => {
  const server = await startNatsServer();
  const exchange: KalshiSim = await startKalshiSim({ seed: 11 });
  const dir = await mkdtemp(join(tmpdir(), 'orch-kalshi-restart-'));
  const cfg = join(dir, 'strategies.yaml');
  await writeFile(cfg, renderRegistry([
    { id: 'klong', module: fixture('recorder'), venue: 'kalshi', instruments: [LONG], risk: RISK },
    { id: 'kshort', module: fixture('recorder'), venue: 'kalshi', instruments: [SHORT], risk: RISK },
  ], { flatten: { followMs: 1500, maxReprices: 4 } }));
  const nc = await connectBus({ servers: server.url, name: 'restart-test' });
  let sys: System | undefined;
  t.after(async () => {
    await nc.close().catch(() => undefined);
    await sys?.stop();
    await exchange.close();
    await server.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  const start = () => startSystem({
    configFile: cfg, log, natsUrl: server.url, stateDir: dir, metricsPort: false, simTickIntervalMs: 100, logLevel: 'silent', hotReload: false,
    kalshi: { restUrl: exchange.restUrl, wsUrl: exchange.wsUrl, keyId: exchange.keyId, privateKey: { path: exchange.privateKeyPath }, tier: 'basic' },
  });
  const engine = exchange.engine;
  const atExchange = (ticker: string) => engine.positions.get(ticker)?.position ?? 0;
  const liquidity = (ticker: string, side: 'bid' | 'ask', count: number) => {
    const top = engine.top(ticker)[side];
    const price = top ? top[0] : side === 'bid' ? 4000 : 6000;
    engine.place({ ticker, side, price, count, timeInForce: 'good_till_canceled' }, 'mm');
    return price;
  };
  const trade = (s: System, strategyId: string, symbol: string, side: Side, qty: number, limitPrice: number): Promise<IntentReply> => {
    const intentId = newIntentId();
    return eventually(async () => {
      const r = await requestParsed(nc, subjects.intent(strategyId), IntentSchema, {
        action: 'place', intentId, strategyId, ts: Date.now(), venue: 'kalshi', symbol, side, qty, orderType: 'LIMIT', limitPrice,
      }, IntentReplySchema, 5_000);
      return r.status === 'accepted' || (r.status === 'denied' && r.rule !== 'not_reconciled' && r.rule !== 'no_reference_price') ? r : undefined;
    }, `${strategyId}'s order decided (${s.natsUrl})`, 20_000);
  };
  const ops = async (run: typeof runFlatten, args: string[]) => {
    let out = '';
    let err = '';
    const code = await run([...args, '--nats', server.url, '--state-dir', dir, '--operator', 'tester'], {}, { out: (s) => void (out += s), err: (s) => void (err += s) });
    return { code, out, err };
  };

  // --- the first broker: +900 on LONG, -400 on SHORT, one BUY of 200 resting far below LONG.
  sys = await start();
  await eventually(() => sys!.broker.lastPrice('kalshi', LONG) && sys!.broker.lastPrice('kalshi', SHORT), 'Kalshi prices', 20_000);
  assert.equal((await trade(sys, 'klong', LONG, 'BUY', 900, liquidity(LONG, 'ask', 2000))).status, 'accepted');
  assert.equal((await trade(sys, 'kshort', SHORT, 'SELL', 400, liquidity(SHORT, 'bid', 2000))).status, 'accepted');
  const restingPrice = engine.top(LONG).bid![0] - 1000;
  assert.equal((await trade(sys, 'klong', LONG, 'BUY', 200, restingPrice)).status, 'accepted');
  await eventually(() => atExchange(LONG) === 900 && atExchange(SHORT) === -400, '+900 and -400 at the exchange', 20_000);
  await eventually(() => sys!.broker.position('klong', LONG) === 900 && sys!.broker.position('kshort', SHORT) === -400, 'the first broker books them', 20_000);
  await eventually(() => exchange.orders().some((o) => o.status === 'resting' && o.price === restingPrice), 'the buy rests at the exchange', 20_000);
  await sys.stop();
  sys = undefined;
  const beforeRestart = exchange.orders();
  assert.equal(beforeRestart.filter((o) => o.status === 'resting').length, 1, 'the resting buy outlives the broker');

  // --- the second broker: it knows the positions and the resting buy from its event log alone.
  sys = await start();
  assert.equal(sys.broker.position('klong', LONG), 900, 'the replayed long');
  assert.equal(sys.broker.position('kshort', SHORT), -400, 'the replayed short');
  assert.deepEqual(sys.broker.book.open('klong').map((o) => o.qty), [200], 'the replayed resting buy');
  assert.equal(exchange.orders().length, beforeRestart.length, 'the restart sent nothing');

  // orch flatten klong: the resting buy is cancelled and the long is sold, met by thin bids first.
  liquidity(LONG, 'bid', 300);
  const later = setTimeout(() => liquidity(LONG, 'bid', 2000), 2_000);
  t.after(() => clearTimeout(later));
  const flat = await ops(runFlatten, ['--strategy', 'klong', '--reason', 'flatten after restart']);
  assert.equal(flat.code, 0, flat.err + flat.out);
  assert.match(flat.out, /klong is flat/);
  assert.equal(atExchange(LONG), 0, 'the long is flat at the exchange');
  assert.equal(atExchange(SHORT), -400, 'the other strategy is untouched');

  // Kill level 4: the short is bought back.
  liquidity(SHORT, 'ask', 2000);
  const kill = await ops((args, env, io) => runKill('kill', args, env, io), ['4', '--reason', 'flatten all after restart']);
  assert.equal(kill.code, 0, kill.err);
  await eventually(() => atExchange(SHORT) === 0, 'the short is flat at the exchange', 30_000);
  await sys.killSwitch.controller.idle();
  assert.equal(sys.killSwitch.controller.lastFlatten?.flat, true, JSON.stringify(sys.killSwitch.controller.lastFlatten));

  // Exactly the positions were closed, by orders of the second broker only, none sent twice.
  const before = new Set(beforeRestart.map((o) => o.orderId));
  const all = exchange.orders();
  const closing = all.filter((o) => !before.has(o.orderId));
  const filled = (ticker: string, side: 'bid' | 'ask') => closing.filter((o) => o.ticker === ticker && o.side === side).reduce((n, o) => n + o.filled, 0);
  assert.deepEqual([filled(LONG, 'ask'), filled(SHORT, 'bid')], [900, 400], 'sold 900 and bought 400 back, never more');
  assert.equal(closing.filter((o) => o.side === 'bid' && o.ticker === LONG).length, 0, 'no buy on the long was sent again');
  assert.equal(new Set(all.map((o) => o.clientOrderId)).size, all.length, 'every order at the exchange has its own client_order_id');
  const resting = all.find((o) => o.price === restingPrice && o.ticker === LONG && o.side === 'bid')!;
  assert.equal(resting.status, 'canceled', 'the resting buy of the first broker was cancelled, so it cannot reopen the long');
  assert.equal(resting.filled, 0);
  assert.ok(all.every((o) => o.status !== 'resting'), 'nothing left resting');
  assert.equal(sys.broker.position('klong', LONG), 0);
  assert.equal(sys.broker.position('kshort', SHORT), 0);
});
