import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { MAX_PAYLOAD_BYTES } from '../../../actors/messages.ts';
import { randInt, type Rng } from '../../../actors/prng.ts';
import { subjects } from '../../../actors/subjects.ts';
import { project } from '../../../broker/projection/projection.ts';
import { startKalshiSim, type KalshiSim } from '../../../exchanges/kalshi/index.ts';
import { crashBroker, startKalshiBroker, type InProcessKalshiBroker } from '../../support/kalshi-broker.ts';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.ts';
import { loggedFillQty, placeIntent, readLog, sendIntent } from '../../support/recovery-harness.ts';
import type { StrategySpec } from '../../../config/registry.ts';

/**
 * The Kalshi leg of the seeded fault test (randomized.test.ts): the same faults against the
 * built-in Kalshi exchange, where the client_order_id is the intent id. Orders that fill while
 * the broker is dead are visible only in the venue's history (GET /portfolio/orders, /fills).
 */
export const KALSHI_MARKET = 'KXFED-26DEC-T4.00';

export const kalshiStrategy = (spec: (id: string, over: Partial<StrategySpec>) => StrategySpec) => spec('k1', {
  venue: 'kalshi', instruments: [KALSHI_MARKET],
  risk: { maxOrderQty: 1_000, maxOrderValue: 1_000_000_000, maxPosition: 100_000, maxOpenOrders: 50, priceBandBps: 3_000, ordersPerMinute: 6_000 },
});

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FAULTS = ['none', 'none', 'none', 'acceptThenTimeout', 'fail5xx', 'storm', 'drop', 'restart', 'crashWhileFilling', 'venueRestart', 'oversize', 'trade'] as const;

/** The rest of the market trades through the best level on one side, ours included. */
function sweep(sim: KalshiSim, rng: Rng): void {
  const e = sim.engine;
  const side = pick(rng, ['bid', 'ask'] as const);
  const top = e.top(KALSHI_MARKET)[side];
  if (!top) return;
  e.place({ ticker: KALSHI_MARKET, side: side === 'bid' ? 'ask' : 'bid', price: top[0], count: top[1], timeInForce: 'immediate_or_cancel' }, 'mm');
  // Someone rests at that price again, so the book never runs dry.
  e.place({ ticker: KALSHI_MARKET, side, price: top[0], count: 5_000, timeInForce: 'good_till_canceled' }, 'mm');
}

/** One venue order per intent, every venue fill in the log, the projection equal to the venue, no order from an oversize message. */
async function violations(nc: NatsConnection, sim: KalshiSim, ids: ReadonlySet<string>, oversized: readonly string[]): Promise<string[]> {
  const log = await readLog(nc);
  const p = project(log);
  const problems: string[] = [];
  const ours = sim.orders().filter((o) => ids.has(o.clientOrderId ?? ''));
  const perId = new Map<string, number>();
  for (const o of ours) perId.set(o.clientOrderId!, (perId.get(o.clientOrderId!) ?? 0) + 1);
  for (const [id, n] of perId) if (n > 1) problems.push(`${n} venue orders carry client_order_id ${id}`);
  for (const id of oversized) if (perId.has(id)) problems.push(`venue order from an oversize message ${id}`);
  const fillQty = loggedFillQty(log);
  let venueNet = 0;
  for (const o of ours) {
    const id = o.clientOrderId!;
    venueNet += o.side === 'bid' ? o.filled : -o.filled;
    const rec = p.book.get(id);
    if (!rec) { problems.push(`intent ${id}: venue order ${o.orderId} (${o.status}, filled ${o.filled}) has no order in the log`); continue; }
    if (rec.venueOrderId !== o.orderId) problems.push(`intent ${id}: log has venue id ${rec.venueOrderId}, venue ${o.orderId}`);
    if (rec.filledQty !== o.filled) problems.push(`intent ${id}: log filled ${rec.filledQty}, venue ${o.filled}`);
    if ((fillQty.get(id) ?? 0) !== o.filled) problems.push(`intent ${id}: log fills sum to ${fillQty.get(id) ?? 0}, venue filled ${o.filled}`);
    if (o.status !== 'resting' && (rec.state === 'open' || rec.state === 'pending' || rec.state === 'partially_filled')) problems.push(`intent ${id}: log says ${rec.state}, venue ${o.status}`);
  }
  let localNet = 0;
  for (const s of p.positions.values()) if (s.symbol === KALSHI_MARKET) localNet += s.qty;
  if (localNet !== venueNet) problems.push(`${KALSHI_MARKET}: projection net ${localNet}, venue ${venueNet}`);
  return problems;
}

export async function kalshiRun(o: { seed: number; rng: Rng; nc: NatsConnection; natsUrl: string; strategy: StrategySpec; log: Logger }): Promise<string[]> {
  const { rng, nc, log } = o;
  const sim = await startKalshiSim({ seed: o.seed, tier: 'premier' });
  const venue: TcpProxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(sim.restUrl).port) });
  const start = async (): Promise<InProcessKalshiBroker> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await startKalshiBroker({ sim, natsUrl: o.natsUrl, strategies: [o.strategy], log, externalAtStart: 'baseline', urls: { rest: venue.via(sim.restUrl), ws: venue.via(sim.wsUrl) } });
      } catch (e) {
        if (attempt >= 40) throw e;
        await sleep(50);
      }
    }
  };
  const ids = new Set<string>();
  const oversized: string[] = [];
  let running: InProcessKalshiBroker | undefined;
  try {
    running = await start();
    const sent: Promise<unknown>[] = [];
    const steps = randInt(rng, 6, 12);
    for (let i = 0; i < steps; i++) {
      switch (pick(rng, FAULTS)) {
        case 'acceptThenTimeout': sim.faults.acceptThenTimeout(1); break;
        case 'fail5xx': sim.faults.failNext(randInt(rng, 1, 3), pick(rng, [500, 502, 503])); break;
        case 'storm': sim.faults.rateLimitStorm(randInt(rng, 100, 400)); break;
        case 'drop': sim.faults.dropSockets(); break;
        case 'restart':
          await sleep(randInt(rng, 0, 60));
          await crashBroker(running);
          running = await start();
          break;
        case 'crashWhileFilling':
          // Killed while orders rest; the market runs through them before the broker is back.
          await crashBroker(running);
          sweep(sim, rng);
          running = await start();
          break;
        case 'venueRestart': await venue.restart(randInt(rng, 20, 200)); break;
        case 'oversize': {
          const big = { ...placeIntent('k1', { venue: 'kalshi', symbol: KALSHI_MARKET, orderType: 'LIMIT', limitPrice: 5_000 }), note: 'x'.repeat(MAX_PAYLOAD_BYTES + 1) };
          oversized.push(big.intentId);
          await nc.request(subjects.intent('k1'), JSON.stringify(big), { timeout: 300 }).catch(() => undefined);
          break;
        }
        case 'trade': sweep(sim, rng); break;
        case 'none': break;
      }
      const top = sim.engine.top(KALSHI_MARKET);
      const side = pick(rng, ['BUY', 'SELL'] as const);
      const near = side === 'BUY' ? top.bid?.[0] : top.ask?.[0];
      const cross = side === 'BUY' ? top.ask?.[0] : top.bid?.[0];
      const px = rng() < 0.25 ? cross : near;
      if (px === undefined) continue;
      const intent = placeIntent('k1', { venue: 'kalshi', symbol: KALSHI_MARKET, side, qty: randInt(rng, 1, 3) * 100, orderType: 'LIMIT', limitPrice: px });
      ids.add(intent.intentId);
      const p = sendIntent(nc, intent, 500).catch(() => undefined);
      sent.push(p);
      if (rng() < 0.2) sent.push(p.then(() => sendIntent(nc, intent, 500)).catch(() => undefined));
      await sleep(randInt(rng, 0, 40));
    }
    await Promise.all(sent);
    sweep(sim, rng);
    await sleep(100);
    sim.faults.rateLimitStorm(0);
    sim.faults.failNext(0, 500);
    for (let i = 0; i < 3; i++) {
      await running.broker.reconcileNow('operator');
      await running.events.flush();
      const problems = await violations(nc, sim, ids, oversized);
      if (problems.length === 0) return [];
      await sleep(200);
    }
    return violations(nc, sim, ids, oversized);
  } finally {
    if (running) {
      running.broker.fence('run over');
      await running.stop().catch(() => undefined);
    }
    await venue.close();
    await sim.close();
  }
}
