/**
 * Capacity: 1, 8, 32 and 64 strategies in real workers, each subscribed to its share of the
 * built-in Kite exchange's seven equities, at 1,000, 3,000 and 9,000 ticks/s (9,000 is what one
 * Kite API key can stream: three sockets of 3,000 instruments). Per configuration: p50/p99 of
 * the time from the exchange handing a frame to its WebSocket to the strategy's handler running
 * (wall clock, comparable across threads), ticks lost in transport (seq gaps at the actor) and
 * ticks conflated (the latest-tick policy: a slow strategy gets the newest tick per instrument),
 * CPU of this process and of nats-server, and memory: the process's RSS and its growth per
 * added strategy worker. Next to it, in the same run, the raw NATS fan-out rate: one publisher,
 * as many subscribing connections as strategies, no product code.
 *
 * One configuration: `BENCH_CAP_N=64 BENCH_CAP_RATE=9000 npm run bench -- capacity`.
 */
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startNatsServer, type NatsServerHandle } from '../test/support/nats-server.ts';
import { startSystem } from '../supervisor/system.ts';
import { connectBus } from '../actors/bus.ts';

const STRATEGIES = process.env.BENCH_CAP_N ? process.env.BENCH_CAP_N.split(',').map(Number) : [1, 8, 32, 64];
const RATES = process.env.BENCH_CAP_RATE ? process.env.BENCH_CAP_RATE.split(',').map(Number) : [1_000, 3_000, 9_000];
const WARMUP_MS = 2_000;
const MEASURE_MS = 5_000;
const STOP_PAISE = 5;
const TARGET = { strategies: 64, ticksPerSec: 9_000, p99Ms: 25, mbPerWorker: 30 };
const probe = fileURLToPath(new URL('../test/fixtures/strategies/latency-probe.ts', import.meta.url));

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds nats-server has used (utime + stime from /proc). */
function natsCpuSeconds(server: NatsServerHandle): number {
  const pid = server.process.pid;
  if (!pid || !existsSync(`/proc/${pid}/stat`)) return NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The bare fan-out: messages delivered per second to `subscribers` connections from one publisher. */
async function rawFanOut(url: string, subscribers: number): Promise<number> {
  const pub = await connectBus({ servers: url, name: 'fan-pub' });
  const subs = await Promise.all(Array.from({ length: subscribers }, (_, i) => connectBus({ servers: url, name: `fan-sub-${i}` })));
  let delivered = 0;
  for (const nc of subs) nc.subscribe('bench.fan', { callback: () => { delivered++; } });
  await Promise.all(subs.map((nc) => nc.flush()));
  const body = JSON.stringify({ type: 'tick', venue: 'kite', symbol: 'NSE:INFY', seq: 1, ts: 0, recvTs: 0, last: 154235 });
  const t0 = performance.now();
  while (performance.now() - t0 < 2_000) {
    for (let i = 0; i < 200; i++) pub.publish('bench.fan', body);
    await pub.flush();
  }
  await Promise.all(subs.map((nc) => nc.flush()));
  const rate = delivered / ((performance.now() - t0) / 1000);
  await pub.close();
  await Promise.all(subs.map((nc) => nc.close()));
  return rate;
}

type Result = {
  strategies: number; ticksPerSec: number; p50: number; p99: number; samples: number;
  lost: number; conflated: number; cpuCores: number; natsCpuCores: number; rssMb: number;
};

async function run(server: NatsServerHandle, n: number, rate: number): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), 'orch-capacity-'));
  const symbols = ['INFY', 'RELIANCE', 'TCS', 'HDFCBANK', 'SBIN', 'ICICIBANK', 'ITC'];
  // Each strategy its share: with fewer strategies than instruments, several each; otherwise one.
  const shareOf = (i: number) => (n <= symbols.length ? symbols.filter((_, j) => j % n === i) : [symbols[i % symbols.length]!]);
  const yaml = ['strategies:', ...Array.from({ length: n }, (_, i) => `
  - id: cap${i}
    module: ${probe}
    venue: kite
    instruments: [${shareOf(i).map((s) => `NSE:${s}`).join(', ')}]
    params: { dir: ${JSON.stringify(dir)}, stopPaise: ${STOP_PAISE} }
    resources: { maxOldGenerationSizeMb: 64 }
    risk: { maxOrderQty: 1, maxOrderValue: 100000, maxPosition: 1, maxOpenOrders: 1, priceBandBps: 1000, ordersPerMinute: 1 }`)].join('\n');
  await writeFile(join(dir, 'strategies.yaml'), yaml);

  const sentAt = new Map<string, number>();
  let measuring = false;
  const sys = await startSystem({
    configFile: join(dir, 'strategies.yaml'), log: pino({ level: 'silent' }), natsUrl: server.url, stateDir: dir, metricsPort: false, logLevel: 'silent', hotReload: false,
    simTickIntervalMs: 3_600_000, // the bench moves the prices itself
    kiteSim: { enforceRateLimits: false },
  });
  try {
    const sim = sys.sim!;
    const insts = symbols.map((s) => sim.instruments.find((i) => i.exchange === 'NSE' && i.tradingsymbol === s)!);
    const base = insts.map((i) => i.closePaise);
    await sleep(1_000);
    // One frame moves every instrument: frames/s = rate / instruments.
    const framesPerSec = rate / insts.length;
    let frames = 0;
    let running = true;
    const t0 = performance.now();
    const flow = (async () => {
      while (running) {
        const due = Math.floor(((performance.now() - t0) / 1000) * framesPerSec);
        for (; frames < due; frames++) {
          // Prices only rise during a run, so no price repeats and each names its frame.
          const at = nowUs();
          sim.setPrices(insts.map((inst, j) => [inst.instrumentToken, base[j]! + 5 * frames] as const));
          if (measuring) for (let j = 0; j < insts.length; j++) sentAt.set(`NSE:${symbols[j]}:${base[j]! + 5 * frames}`, at);
        }
        await sleep(1);
      }
    })();
    await sleep(WARMUP_MS);
    const health0 = await sys.supervisor.view();
    const cpu0 = process.cpuUsage();
    const nats0 = natsCpuSeconds(server);
    const w0 = performance.now();
    const from = nowUs();
    const frames0 = frames;
    measuring = true;
    await sleep(MEASURE_MS);
    measuring = false;
    const to = nowUs();
    const wall = (performance.now() - w0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const natsCpu = natsCpuSeconds(server) - nats0;
    const rss = process.memoryUsage().rss;
    const sentTicks = (frames - frames0) * insts.length;
    const health1 = await sys.supervisor.view();
    running = false;
    await flow;
    sim.setPrices(insts.map((inst) => [inst.instrumentToken, STOP_PAISE] as const));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !Array.from({ length: n }, (_, i) => existsSync(join(dir, `cap${i}.json`))).every(Boolean)) await sleep(50);

    const latencies: number[] = [];
    for (let i = 0; i < n; i++) {
      const file = join(dir, `cap${i}.json`);
      if (!existsSync(file)) continue;
      const rec = JSON.parse(await readFile(file, 'utf8')) as { symbols: string[]; prices: number[]; at: number[] };
      for (let k = 0; k < rec.at.length; k++) {
        const sent = sentAt.get(`${rec.symbols[k]}:${rec.prices[k]}`);
        if (sent !== undefined && sent >= from && sent <= to) latencies.push((rec.at[k]! - sent) / 1000);
      }
    }
    const delta = (field: 'tickGaps' | 'ticksConflated') => health1.reduce((sum, c) => sum + (c.health?.[field] ?? 0), 0) - health0.reduce((sum, c) => sum + (c.health?.[field] ?? 0), 0);
    return {
      strategies: n, ticksPerSec: Math.round(sentTicks / wall), p50: pct(latencies, 50), p99: pct(latencies, 99), samples: latencies.length,
      // tickGaps: seq jumps as ticks reach the actor (lost in transport); conflation happens after.
      lost: delta('tickGaps'), conflated: delta('ticksConflated'),
      cpuCores: (cpu.user + cpu.system) / 1e6 / wall, natsCpuCores: natsCpu / wall, rssMb: rss / 2 ** 20,
    };
  } finally {
    await sys.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export default async function (): Promise<void> {
  const rssByN = new Map<number, number>();
  for (const n of STRATEGIES) {
    for (const rate of RATES) {
      // A fresh server per run: the previous broker's lease would hold the next in standby.
      const server = await startNatsServer();
      try {
        const fanOut = await rawFanOut(server.url, n);
        const r = await run(server, n, rate);
        rssByN.set(n, Math.max(rssByN.get(n) ?? 0, r.rssMb));
        const graded = n === TARGET.strategies && rate === TARGET.ticksPerSec;
        process.stdout.write(`${JSON.stringify({
          bench: 'capacity', strategies: n, ticksPerSecTarget: rate, ticksPerSec: r.ticksPerSec, unit: 'ms',
          p50: r3(r.p50), p99: r3(r.p99), samples: r.samples,
          ticksLost: r.lost, ticksConflated: r.conflated, policy: 'latest tick per instrument for a slow strategy (orch_ticks_conflated_total)',
          cpuCores: r3(r.cpuCores), natsCpuCores: r3(r.natsCpuCores), rssMb: Math.round(r.rssMb),
          floor: { bench: 'raw NATS fan-out, one publisher to as many connections, no product code', deliveredPerSec: Math.round(fanOut) },
          // Each instrument reaches every strategy subscribed to it: one when there are fewer strategies than instruments.
          deliveredToStrategiesPerSec: Math.round(r.ticksPerSec * Math.max(1, n / 7)),
          ...(graded ? { targetP99Ms: TARGET.p99Ms, withinTarget: r.p99 <= TARGET.p99Ms && r.lost === 0 } : {}),
        })}\n`);
      } finally {
        await server.cleanup();
      }
    }
  }
  const ns = [...rssByN.keys()].sort((a, b) => a - b);
  if (ns.length >= 2) {
    const lo = ns[0]!;
    const hi = ns[ns.length - 1]!;
    const perWorker = (rssByN.get(hi)! - rssByN.get(lo)!) / (hi - lo);
    process.stdout.write(`${JSON.stringify({ bench: 'capacity-memory', unit: 'MB', rssPerAddedWorker: r3(perWorker), from: { strategies: lo, rssMb: Math.round(rssByN.get(lo)!) }, to: { strategies: hi, rssMb: Math.round(rssByN.get(hi)!) }, targetMb: TARGET.mbPerWorker, withinTarget: perWorker <= TARGET.mbPerWorker })}\n`);
  }
}
