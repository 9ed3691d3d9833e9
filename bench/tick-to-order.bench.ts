/**
 * Tick-to-order latency: from the moment the built-in exchange hands a tick frame to its
 * WebSocket to the moment the order that tick caused arrives at its REST endpoint. The path in
 * between is the real one: broker ticker client → NATS → strategy worker thread → intent over
 * NATS → gates → the shared limiter (on) → Kite REST client. The floor, measured in the same
 * run on the same nats-server, is one bare NATS request/reply round trip.
 *
 * Ticks come at a steady rate, each with a price of its own, so an order's limit price names
 * the tick that caused it. Strategies take turns (offset), so at most one order per tick and
 * the total order rate stays inside Kite's 10/s and 200/min: queueing in the limiter is not
 * what this measures. The exchange's own rate limits are off; the broker's limiter is not.
 *
 * Two tick rates, both at 5 orders/s: 20 ticks/s (a quiet instrument; every thread sleeps
 * between ticks) and 1000 ticks/s (a busy feed). Two floors: the round trip back to back, as
 * fast as it goes, and the same round trip once per order interval during the run, which pays
 * the same wake-ups from idle that every hop of the order path pays.
 *
 * One configuration only: `BENCH_N=2 BENCH_TICK_MS=1 npm run bench -- tick`. Where the time
 * goes, segment by segment, is in docs/latency.md.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { connectBus } from '../actors/bus.ts';
import { startSystem } from '../supervisor/system.ts';
import type { KiteSimObserver } from '../exchanges/kite/index.ts';
import { startNatsServer } from '../test/support/nats-server.ts';
import { structureFloor } from './structure-floor.ts';

const ORDER_INTERVAL_MS = 200; // 5 orders/s overall, whatever the tick rate
const TICK_INTERVALS_MS = [50, 1]; // 20 and 1000 ticks/s
const SAMPLES = 100;
const WARMUP = 10;
const THROUGH = 100; // paise above/below the tick: marketable, so positions stay flat (ALTERNATE)
const FLOOR_ROUNDS = 2_000;
const trader = fileURLToPath(new URL('../test/e2e/kite/fixtures/trader.ts', import.meta.url));

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const r3 = (x: number) => Math.round(x * 1000) / 1000;

async function natsFloor(url: string): Promise<{ p50: number; p99: number; n: number }> {
  const server = await connectBus({ servers: url, name: 'bench-responder' });
  const client = await connectBus({ servers: url, name: 'bench-requester' });
  const sub = server.subscribe('bench.rtt', { callback: (_e, m) => { m.respond(m.data); } });
  await server.flush();
  const body = JSON.stringify({ action: 'place', intentId: 'x'.repeat(22), symbol: 'NSE:INFY', side: 'BUY', qty: 1, limitPrice: 150000 });
  const times: number[] = [];
  for (let i = 0; i < FLOOR_ROUNDS + 200; i++) {
    const t0 = performance.now();
    await client.request('bench.rtt', body, { timeout: 5_000 });
    if (i >= 200) times.push(performance.now() - t0);
  }
  sub.unsubscribe();
  await client.close();
  await server.close();
  return { p50: pct(times, 50), p99: pct(times, 99), n: times.length };
}

type Stats = { p50: number; p99: number; n: number };
const stats = (xs: number[]): Stats => ({ p50: pct(xs, 50), p99: pct(xs, 99), n: xs.length });

/** Bare request/reply once per interval until stopped: the floor under the same duty cycle as the orders. */
async function pacedFloor(url: string, intervalMs: number): Promise<{ stop: () => Promise<Stats> }> {
  const server = await connectBus({ servers: url, name: 'bench-paced-responder' });
  const client = await connectBus({ servers: url, name: 'bench-paced-requester' });
  server.subscribe('bench.paced', { callback: (_e, m) => { m.respond(m.data); } });
  await server.flush();
  const body = JSON.stringify({ action: 'place', intentId: 'x'.repeat(22), symbol: 'NSE:INFY', side: 'BUY', qty: 1, limitPrice: 150000 });
  const times: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, intervalMs));
      const t0 = performance.now();
      await client.request('bench.paced', body, { timeout: 5_000 });
      times.push(performance.now() - t0);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await client.close();
      await server.close();
      return stats(times);
    },
  };
}

type RunResult = Stats & { lost: number; ticksPerSec: number; floorAtPace: Stats };

async function tickToOrder(natsUrl: string, strategies: number, tickMs: number): Promise<RunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'orch-bench-'));
  const turn = Math.round(ORDER_INTERVAL_MS / tickMs);
  const every = turn * strategies;
  const perStrategy = Math.ceil((SAMPLES + WARMUP) / strategies);
  const yaml = ['strategies:', ...Array.from({ length: strategies }, (_, i) => `
  - id: bench${i}
    module: ${trader}
    venue: kite
    instruments: [NSE:INFY]
    params: { every: ${every}, offset: ${i * turn}, maxOrders: ${perStrategy}, side: ALTERNATE, through: ${THROUGH} }
    risk: { maxOrderQty: 10, maxOrderValue: 1000000000, maxPosition: 1000, maxOpenOrders: 1000, priceBandBps: 2000, ordersPerMinute: 1000 }`)].join('\n');
  await writeFile(join(dir, 'strategies.yaml'), yaml);

  let pricePaise = 0;
  let stamped = false;
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let orders = 0;
  const observer: KiteSimObserver = {
    tickFrameSent: ({ at }) => {
      // The first frame carrying a new price: later frames (another socket) repeat it.
      if (!stamped) sentAt.set(pricePaise, at);
      stamped = true;
    },
    requestReceived: ({ method, path, body, at }) => {
      if (method !== 'POST' || path !== '/orders/regular') return;
      orders++;
      const limit = Math.round(Number(body.price) * 100);
      const tick = body.transaction_type === 'BUY' ? limit - THROUGH : limit + THROUGH;
      const t0 = sentAt.get(tick);
      if (t0 !== undefined && orders > WARMUP) latencies.push(at - t0);
    },
  };
  const sys = await startSystem({
    configFile: join(dir, 'strategies.yaml'), log: pino({ level: 'silent' }), natsUrl, stateDir: dir, metricsPort: false, logLevel: 'silent', hotReload: false,
    simTickIntervalMs: 3_600_000, // the bench moves the price itself
    kiteSim: { enforceRateLimits: false, observer },
  });
  try {
    const sim = sys.sim!;
    const infy = sim.instruments.find((i) => i.exchange === 'NSE' && i.tradingsymbol === 'INFY')!;
    // Let every worker subscribe before the clock starts.
    await new Promise((r) => setTimeout(r, 1_000));
    const paced = await pacedFloor(natsUrl, ORDER_INTERVAL_MS);
    const started = performance.now();
    const base = 150_000;
    let n = 0;
    const wanted = SAMPLES + WARMUP;
    const deadline = Date.now() + 120_000;
    while (orders < wanted && Date.now() < deadline) {
      n++;
      // A fresh price per tick, on the 0.05 grid, wandering within ±1%.
      pricePaise = base + ((n * 5) % 3_000) - 1_500;
      // Each price comes back every 600 ticks; its send time is overwritten then, never forgotten
      // (clearing the map at the wrap lost the orders of the ticks just before it: the
      // "unmatched" orders of earlier runs).
      stamped = false;
      sim.setPrice(infy.instrumentToken, pricePaise / 100);
      await new Promise((r) => setTimeout(r, tickMs));
    }
    const ticksPerSec = n / ((performance.now() - started) / 1000);
    const floorAtPace = await paced.stop();
    await new Promise((r) => setTimeout(r, 300));
    return { ...stats(latencies), lost: Math.max(0, orders - WARMUP - latencies.length), ticksPerSec, floorAtPace };
  } finally {
    await sys.stop();
  }
}

export default async function (): Promise<void> {
  for (const strategies of (process.env.BENCH_N ? [Number(process.env.BENCH_N)] : [2, 8])) {
    for (const tickMs of (process.env.BENCH_TICK_MS ? [Number(process.env.BENCH_TICK_MS)] : TICK_INTERVALS_MS)) {
      // A fresh server per run: the broker lease of the previous run would otherwise hold the new broker in standby.
      const nats = await startNatsServer();
      try {
        const floor = await natsFloor(nats.url);
        process.stdout.write(`${JSON.stringify({ bench: 'nats-request-reply', mode: 'back-to-back', unit: 'ms', p50: r3(floor.p50), p99: r3(floor.p99), n: floor.n })}\n`);
        const r = await tickToOrder(nats.url, strategies, tickMs);
        const structure = await structureFloor(nats.url, { workers: strategies, tickMs, orderIntervalMs: ORDER_INTERVAL_MS, samples: SAMPLES, warmup: WARMUP });
        process.stdout.write(`${JSON.stringify({
          bench: 'tick-to-order', strategies, tickRatePerSec: Math.round(r.ticksPerSec), ordersPerSec: 1000 / ORDER_INTERVAL_MS, unit: 'ms',
          p50: r3(r.p50), p99: r3(r.p99), n: r.n, unmatched: r.lost,
          floor: { bench: 'nats-request-reply', mode: 'back-to-back', p50: r3(floor.p50), p99: r3(floor.p99) },
          floorAtOrderPace: { bench: 'nats-request-reply', mode: `one every ${ORDER_INTERVAL_MS} ms during the run`, p50: r3(r.floorAtPace.p50), p99: r3(r.floorAtPace.p99), n: r.floorAtPace.n },
          structureFloor: { bench: 'the same hops without the product (bench/structure-floor.ts)', p50: r3(structure.p50), p99: r3(structure.p99), n: structure.n },
          ratioP50: r3(r.p50 / floor.p50), ratioP99: r3(r.p99 / floor.p99), ratioP50AtOrderPace: r3(r.p50 / r.floorAtPace.p50),
          structureRatioP50: r3(structure.p50 / floor.p50), ratioP50ToStructure: r3(r.p50 / structure.p50),
          targetRatioP50: 3, withinTarget: r.p50 <= 3 * floor.p50,
        })}\n`);
      } finally {
        await nats.cleanup();
      }
    }
  }
}
