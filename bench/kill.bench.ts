/**
 * Kill propagation, with ticks flowing at about 1,000/s: the time from a level-3 trip (the
 * operator's raise) until every strategy actor has acknowledged it, for 16 and 64 actors in
 * real workers, and until every open order is cancelled at the built-in exchange. Printed next
 * to the floor (the bare NATS publish→receive time, same run) and, for the cancels, next to the
 * bound the venue's cancel limit sets (Kite: modify and cancel share its 10/s "other" family).
 *
 * Two acknowledgement figures: `level3_to_all_acks` counts the first acknowledgement of each
 * actor, which is its kill gate closing in shared memory (actors/kill-gate.ts, `via: gate`);
 * `level3_to_all_worker_acks` waits for every worker thread's own, which pays one thread
 * wake-up per actor (docs/latency.md, "Kill propagation").
 */
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { startNatsServer } from '../test/support/nats-server.ts';
import { fixture } from '../test/support/specs.ts';
import { startSystem } from '../supervisor/system.ts';
import { connectBus, subscribeParsed } from '../actors/bus.ts';
import { systemClock } from '../actors/clock.ts';
import { subjects } from '../actors/subjects.ts';
import { KillAckSchema } from '../actors/messages.ts';
import { KillStore } from '../broker/kill/kill-store.ts';
import { operatorRounds } from './kill-operator.ts';
import { isAlias, kiteLimits } from '../broker/limiter/limits.ts';
import { eventually } from '../test/support/wait.ts';

const ACTOR_COUNTS = process.env.BENCH_ACTORS ? process.env.BENCH_ACTORS.split(',').map(Number) : [16, 64];
const TICKS_PER_SEC = 1_000;
/** The strategies' `resources.niceness` (default: the registry's, 10); 0 shows what it buys. */
const NICENESS = process.env.BENCH_NICENESS === undefined ? undefined : Number(process.env.BENCH_NICENESS);
const TARGET_P99_MS: Record<number, number> = { 16: 10, 64: 20 };
const ACK_ROUNDS = 30;
const CANCEL_ROUNDS = 5;
const RTT_SAMPLES = 2_000;

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!; };
const ms = (x: number) => Math.round(x * 1000) / 1000;

/** Moves the price of NSE:INFY at `perSec` ticks a second until stopped; returns the rate reached. */
function tickFlow(setPrice: (paise: number) => void, perSec: number): { stop(): number } {
  const started = performance.now();
  let sent = 0;
  let running = true;
  const base = 150_000;
  const loop = async () => {
    while (running) {
      const due = Math.floor(((performance.now() - started) / 1000) * perSec);
      for (; sent < due; sent++) setPrice(base + ((sent * 5) % 1_000) - 500);
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  void loop();
  return { stop: () => { running = false; return sent / ((performance.now() - started) / 1000); } };
}

async function natsFloor(url: string): Promise<{ metric: string; p50_ms: number; p99_ms: number; n: number }> {
  const a = await connectBus({ servers: url, name: 'bench-a' });
  const b = await connectBus({ servers: url, name: 'bench-b' });
  const floor: number[] = [];
  let got: (() => void) | undefined;
  b.subscribe('bench.rtt', { callback: () => got?.() });
  await b.flush();
  for (let i = 0; i < RTT_SAMPLES; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => { got = r; a.publish('bench.rtt', 'x'); });
    floor.push(performance.now() - t0);
  }
  await a.close();
  await b.close();
  return { metric: 'nats_publish_receive', p50_ms: ms(pct(floor, 50)), p99_ms: ms(pct(floor, 99)), n: floor.length };
}

async function runWith(actors: number): Promise<void> {
  const server = await startNatsServer();
  const dir = await mkdtemp(join(tmpdir(), 'orch-kill-bench-'));
  const cfg = join(dir, 'strategies.yaml');
  const entries = Array.from({ length: actors }, (_, i) => `
  - id: k${i}
    module: ${fixture('kill-probe')}
    venue: kite
    instruments: [NSE:INFY]
    params: { restOnTick: 1, restCount: 1, refill: true, restBelowBps: 300 }
    risk: { maxOrderQty: 10, maxOrderValue: 100000000, maxPosition: 20, maxOpenOrders: 5, priceBandBps: 1000, ordersPerMinute: 6000 }${NICENESS === undefined ? '' : `
    resources: { maxOldGenerationSizeMb: 128, niceness: ${NICENESS} }`}`).join('');
  await writeFile(cfg, `strategies:${entries}\n`);
  const floorLine = await natsFloor(server.url);
  // The bench moves the price itself; the exchange's own rate limits stay on (cancels pace at 10/s).
  const sys = await startSystem({ configFile: cfg, log: pino({ level: 'silent' }), natsUrl: server.url, stateDir: dir, metricsPort: false, simTickIntervalMs: 3_600_000, logLevel: 'silent', hotReload: false });
  const a = await connectBus({ servers: server.url, name: 'bench-operator' });
  const sim = sys.sim!;
  const infy = sim.instruments.find((i) => i.exchange === 'NSE' && i.tradingsymbol === 'INFY')!;
  const flow = tickFlow((p) => sim.setPrice(infy.instrumentToken, p / 100), TICKS_PER_SEC);
  try {
    // Per round: the first acknowledgement of each actor at the level, and each worker's own.
    let want = -1;
    const first = new Set<string>();
    const worker = new Set<string>();
    // Stamped as the last acknowledgement arrives, not when the raise's own await returns.
    let allFirstAt = 0;
    let allWorkersAt = 0;
    subscribeParsed(a, subjects.killAckAll(), KillAckSchema, (k) => {
      if (k.level !== want) return;
      first.add(k.actorId);
      if (k.via !== 'gate') worker.add(k.actorId);
      if (first.size === actors && !allFirstAt) allFirstAt = performance.now();
      if (worker.size === actors && !allWorkersAt) allWorkersAt = performance.now();
    }, { sync: true });
    await a.flush();
    const operator = await KillStore.open(a, { clock: systemClock, role: 'operator' });
    const open = () => sim.orders().filter((o) => o.status === 'OPEN').length;

    const trip = async (): Promise<{ ackMs: number; workerAckMs: number }> => {
      want = 3; first.clear(); worker.clear(); allFirstAt = 0; allWorkersAt = 0;
      const t0 = performance.now();
      await operator.raise(3, { kind: 'global' }, 'bench trip', 'operator:bench');
      await eventually(() => allWorkersAt > 0, 'every worker to acknowledge', 30_000, 0);
      return { ackMs: allFirstAt - t0, workerAckMs: allWorkersAt - t0 };
    };
    const clear = async () => {
      want = 0; first.clear(); worker.clear(); allFirstAt = 0; allWorkersAt = 0;
      await operator.reset(0, { kind: 'global' }, 'bench reset', 'bench');
      await eventually(() => worker.size >= actors, 'every actor to acknowledge the reset', 30_000, 0);
    };

    // Let every worker subscribe and the flow settle before the first trip.
    await new Promise((r) => setTimeout(r, 1_000));
    const rounds = await operatorRounds({ natsUrl: server.url, actors, rounds: ACK_ROUNDS, pauseMs: 50 });
    const ackTimes = rounds.map((r) => r.ackMs);
    const workerAckTimes = rounds.map((r) => r.workerAckMs);
    const cancelTimes: number[] = [];
    for (let i = 0; i < CANCEL_ROUNDS; i++) {
      await eventually(() => open() >= actors, `${actors} resting orders at the exchange`, 120_000, 0);
      const t0 = performance.now();
      await trip();
      await eventually(() => open() === 0, 'every open order cancelled', 120_000, 0);
      cancelTimes.push(performance.now() - t0);
      await clear();
    }
    const rate = flow.stop();
    const other = kiteLimits()['kite.other'];
    const perSecond = other && !isAlias(other) ? other.windows[0]!.limit : 10;
    // A 1-second window of `perSecond` cancels: the last of n waits for floor((n-1)/perSecond) windows.
    const venueBoundMs = Math.floor((actors - 1) / perSecond) * 1000;
    const target = TARGET_P99_MS[actors];
    const line = (metric: string, xs: number[], extra: Record<string, unknown> = {}) =>
      process.stdout.write(`${JSON.stringify({ bench: 'kill', metric, actors, ticksPerSec: Math.round(rate), p50_ms: ms(pct(xs, 50)), p99_ms: ms(pct(xs, 99)), n: xs.length, ...extra, floor: floorLine })}\n`);
    // The first trip after start separately: the one a trader meets after a quiet morning.
    line('level3_to_all_acks', ackTimes, { first_ms: ms(ackTimes[0]!), ...(target !== undefined ? { targetP99Ms: target, withinTarget: pct(ackTimes, 99) <= target } : {}) });
    line('level3_to_all_worker_acks', workerAckTimes);
    line('level3_to_all_orders_cancelled', cancelTimes, { orders: actors, venueBound: { ms: venueBoundMs, why: `Kite cancels count in a ${perSecond}/s window` }, withinTarget: pct(cancelTimes, 50) <= venueBoundMs + 250 });
  } finally {
    flow.stop();
    await a.close();
    await sys.stop();
    await server.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

export default async function run(): Promise<void> {
  for (const n of ACTOR_COUNTS) await runWith(n);
}
