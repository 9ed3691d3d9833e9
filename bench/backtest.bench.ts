/**
 * Backtest throughput: ticks per second through one strategy and through eight (the registry's
 * momentum strategy, unchanged), from an in-memory stream so the figure is the runner's (virtual
 * clock, the strategies' callbacks, the live pre-trade rules, the built-in Kite engine), not a
 * disk's. Floor, same run: the raw in-process publish/subscribe rate of the same ticks to as many
 * subscribers that do nothing. Target: 100,000 ticks/s through one strategy (issue 18).
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Tick } from '../actors/messages.ts';
import { mulberry32 } from '../actors/prng.ts';
import { StrategyEntrySchema } from '../config/registry.ts';
import momentum from '../strategies/momentum/index.ts';
import { runBacktest } from '../backtest/runner.ts';

const TICKS = 400_000;
const TARGET_ONE = 100_000;
const T0 = Date.UTC(2026, 10, 16, 3, 45);
const SYMBOLS = ['NSE:INFY', 'NSE:TCS', 'NSE:RELIANCE', 'NSE:SBIN'];

/** A seeded walk, 250 ms apart, round the symbols: a busy minute-by-minute market, orders now and then. */
function ticks(): Tick[] {
  const r = mulberry32(42);
  const price = new Map(SYMBOLS.map((s) => [s, 150_000]));
  const out: Tick[] = new Array(TICKS);
  for (let i = 0; i < TICKS; i++) {
    const symbol = SYMBOLS[i % SYMBOLS.length]!;
    const p = Math.max(5, price.get(symbol)! + (Math.floor(r() * 3) - 1) * 5);
    price.set(symbol, p);
    out[i] = { type: 'tick', venue: 'kite', symbol, seq: Math.floor(i / SYMBOLS.length) + 1, ts: T0 + i * 250, recvTs: T0 + i * 250, last: p };
  }
  return out;
}

function floorRate(data: Tick[], subscribers: number): number {
  const bus = new EventEmitter();
  let seen = 0;
  for (let i = 0; i < subscribers; i++) bus.on('tick', (t: Tick) => { if (t.last > 0) seen++; });
  const t0 = performance.now();
  for (const t of data) bus.emit('tick', t);
  const ms = performance.now() - t0;
  if (seen !== data.length * subscribers) throw new Error('floor lost ticks');
  return (data.length / ms) * 1000;
}

async function backtestRate(data: Tick[], strategies: number): Promise<{ rate: number; cpuRate: number; orders: number; fills: number }> {
  const specs = Array.from({ length: strategies }, (_, i) => ({
    spec: {
      ...StrategyEntrySchema.parse({
        id: `m${i}`, module: 'momentum', venue: 'kite', instruments: SYMBOLS,
        params: momentum.paramsSchema.parse({ runLength: 4 + (i % 3), cooldownMs: 30_000 }),
        risk: { maxOrderQty: 10, maxOrderValue: 100_000_000, maxPosition: 10, maxOpenOrders: 8, priceBandBps: 500, ordersPerMinute: 60 },
      }),
      restart: { maxRestarts: 1, withinSeconds: 60 },
    },
    module: momentum,
  }));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await runBacktest({ strategies: specs, ticks: data, from: T0, to: T0 + TICKS * 250, seed: 1 });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rate: (r.ticks / ms) * 1000, cpuRate: r.ticks / ((cpu.user + cpu.system) / 1e6), orders: r.strategies.reduce((a, s) => a + s.orders, 0), fills: r.strategies.reduce((a, s) => a + s.fills, 0) };
}

export default async function run(): Promise<void> {
  const data = ticks();
  // Warm-up: JIT the paths once on a slice.
  await backtestRate(data.slice(0, 40_000), 1);
  floorRate(data, 1);
  for (const strategies of [1, 8]) {
    const floor = floorRate(data, strategies);
    const bt = await backtestRate(data, strategies);
    process.stdout.write(`${JSON.stringify({
      bench: 'backtest', unit: 'ticks/s', strategies, ticks: TICKS, ticksPerSec: Math.round(bt.rate),
      // Per second of this process's CPU (all its threads): what the wall-clock rate would be with a core to itself, on a machine others share.
      ticksPerCpuSec: Math.round(bt.cpuRate), orders: bt.orders, fills: bt.fills,
      floor: { what: 'in-process publish/subscribe, same ticks, no-op subscribers', subscribers: strategies, ticksPerSec: Math.round(floor) },
      ...(strategies === 1 ? { targetTicksPerSec: TARGET_ONE, withinTarget: bt.rate >= TARGET_ONE } : {}),
    })}\n`);
  }
}
