import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { Tick } from '../actors/messages.ts';
import type { Venue } from '../actors/messages.ts';
import { mulberry32 } from '../actors/prng.ts';
import { StrategyEntrySchema, type StrategySpec } from '../config/registry.ts';
import { defineStrategy, type Strategy, type StrategyContext } from '../strategies/sdk.ts';
import momentum from '../strategies/momentum/index.ts';
import meanReversion from '../strategies/mean-reversion/index.ts';
import { runBacktest, type BacktestStrategyInput } from './runner.ts';
import { candleTicks, dataTicks } from './source.ts';
import { writeCandles } from './store.ts';
import { kiteFillCharges, DEFAULT_COSTS } from './costs.ts';

const T0 = Date.UTC(2026, 10, 16, 3, 45);
const RISK = { maxOrderQty: 10_000, maxOrderValue: 10_000_000_000, maxPosition: 20_000, maxOpenOrders: 10, priceBandBps: 1_000, ordersPerMinute: 600 };

function spec(id: string, venue: Venue, instruments: string[], params: Record<string, unknown>, risk: Partial<typeof RISK> = {}): StrategySpec {
  const e = StrategyEntrySchema.parse({ id, module: `${id}.ts`, venue, instruments, params, risk: { ...RISK, ...risk } });
  return { ...e, restart: { maxRestarts: 3, withinSeconds: 60 } };
}
const input = (s: StrategySpec, module: BacktestStrategyInput['module']): BacktestStrategyInput => ({ spec: s, module: { ...module, create: (p) => module.create(module.paramsSchema.parse(p)) } });

/** A seeded random walk of `n` ticks, 1 s apart, over the symbols in turn. */
function walk(n: number, symbols: string[], start = 10_000, seed = 7, venue: Venue = 'kite'): Tick[] {
  const r = mulberry32(seed);
  const price = new Map(symbols.map((s) => [s, start]));
  const seq = new Map<string, number>();
  const out: Tick[] = [];
  for (let i = 0; i < n; i++) {
    const symbol = symbols[i % symbols.length]!;
    const p = Math.max(5, price.get(symbol)! + (Math.floor(r() * 7) - 3) * 5);
    price.set(symbol, p);
    seq.set(symbol, (seq.get(symbol) ?? 0) + 1);
    out.push({ type: 'tick', venue, symbol, seq: seq.get(symbol)!, ts: T0 + i * 1000, recvTs: T0 + i * 1000, last: p });
  }
  return out;
}

/** Mean reversion sized past the simulated book's top level, so how much fills depends on the seeded depth. */
const registry = (): BacktestStrategyInput[] => [
  input(spec('mom', 'kite', ['NSE:TESTCO', 'NSE:OTHERCO'], { runLength: 3, qty: 4_000, maxPosition: 8_000, slippage: 10, cooldownMs: 5_000 }), momentum),
  input(spec('mr', 'kite', ['NSE:TESTCO'], { window: 10, band: 20, requoteAfter: 10, qty: 4_000, maxPosition: 8_000 }), meanReversion),
];

const run = (ticks: Tick[], seed: number) => runBacktest({ strategies: registry(), ticks, from: T0, to: T0 + ticks.length * 1000, seed });

test('the same data, registry and seed give the same orders, fills and hash; another seed or other data another hash', async () => {
  const ticks = walk(6_000, ['NSE:TESTCO', 'NSE:OTHERCO']);
  const a = await run(ticks, 1);
  const b = await run(ticks, 1);
  assert.ok(a.strategies.every((s) => s.orders > 10 && s.fills > 5), JSON.stringify(a.strategies));
  assert.equal(a.hash, b.hash);
  assert.deepEqual(a.record, b.record);
  assert.deepEqual(a.strategies, b.strategies);
  const otherSeed = await run(ticks, 2);
  assert.notEqual(otherSeed.hash, a.hash, 'the seed draws the book depth: partial fills differ');
  const moved = ticks.map((t, i) => (i === 3_000 ? { ...t, last: t.last + 500 } : t));
  const otherData = await run(moved, 1);
  assert.notEqual(otherData.hash, a.hash);
});

/** A strategy scripted tick by tick, to watch the exchange and the gates answer. */
function scripted(onTick: (t: Tick, ctx: StrategyContext, n: number) => Promise<void> | void, seen: { updates: unknown[] } = { updates: [] }) {
  return defineStrategy({
    paramsSchema: z.object({}).passthrough(),
    create: (): Strategy => {
      let n = 0;
      return { onTick: (t, ctx) => onTick(t, ctx, n++), onOrderUpdate: (u) => void seen.updates.push(u) };
    },
  });
}

test('a resting limit fills when the price crosses it, at the crossing tick, and not before; the clock is the data\'s', async () => {
  const prices = [10_000, 9_990, 9_960, 9_950, 9_940, 10_020];
  const ticks: Tick[] = prices.map((last, i) => ({ type: 'tick', venue: 'kite', symbol: 'NSE:TESTCO', seq: i + 1, ts: T0 + i * 60_000, recvTs: T0 + i * 60_000, last }));
  const clockAt: number[] = [];
  const mod = scripted(async (t, ctx, n) => {
    clockAt.push(ctx.clock.now() - t.ts);
    if (n === 0) assert.equal((await ctx.place({ symbol: 'NSE:TESTCO', side: 'BUY', qty: 10, orderType: 'LIMIT', limitPrice: 9_950 })).status, 'accepted');
  });
  const r = await runBacktest({ strategies: [input(spec('s', 'kite', ['NSE:TESTCO'], {}), mod)], ticks, from: T0, to: T0 + 6 * 60_000, seed: 1 });
  assert.deepEqual(clockAt, [0, 0, 0, 0, 0, 0]);
  const fills = r.record.filter((x) => x.kind === 'fill');
  assert.equal(fills.length, 1);
  assert.deepEqual({ ts: fills[0]!.ts, price: fills[0]!.kind === 'fill' && fills[0]!.price, qty: fills[0]!.kind === 'fill' && fills[0]!.qty }, { ts: T0 + 3 * 60_000, price: 9_950, qty: 10 });
  const s = r.strategies[0]!;
  const cost = kiteFillCharges(DEFAULT_COSTS.kite, 'BUY', 10, 9_950).total;
  // Marked at the last price: bought 10 at 99.50, last 100.20.
  assert.equal(s.pnl, 10 * (10_020 - 9_950) - cost);
  assert.equal(s.costs, cost);
  assert.deepEqual(s.positions, { 'NSE:TESTCO': 10 });
});

test('a MARKET order fills within its protection band at once; the live pre-trade rules deny what they deny live', async () => {
  const ticks: Tick[] = [0, 1, 2].map((i) => ({ type: 'tick', venue: 'kite', symbol: 'NSE:TESTCO', seq: i + 1, ts: T0 + i * 1000, recvTs: T0 + i * 1000, last: 10_000 }));
  const answers: string[] = [];
  const mod = scripted(async (_t, ctx, n) => {
    if (n !== 0) return;
    const m = await ctx.place({ symbol: 'NSE:TESTCO', side: 'BUY', qty: 5, orderType: 'MARKET' });
    answers.push(m.status);
    const big = await ctx.place({ symbol: 'NSE:TESTCO', side: 'BUY', qty: 50, orderType: 'LIMIT', limitPrice: 10_000 });
    answers.push(big.status === 'denied' ? big.rule : big.status);
    const far = await ctx.place({ symbol: 'NSE:TESTCO', side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: 5_000 });
    answers.push(far.status === 'denied' ? far.rule : far.status);
    const other = await ctx.place({ symbol: 'NSE:RELIANCE', side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: 5_000 });
    answers.push(other.status === 'denied' ? other.rule : other.status);
    const offGrid = await ctx.place({ symbol: 'NSE:TESTCO', side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: 9_999 });
    answers.push(offGrid.status === 'denied' ? offGrid.rule : offGrid.status);
    const broken = await ctx.place({ symbol: 'NSE:TESTCO', side: 'BUY', qty: Number.NaN, orderType: 'LIMIT', limitPrice: 10_000 });
    answers.push(broken.status === 'denied' ? broken.rule : broken.status);
  });
  const r = await runBacktest({ strategies: [input(spec('s', 'kite', ['NSE:TESTCO'], {}, { maxOrderQty: 10, priceBandBps: 500 }), mod)], ticks, from: T0, to: T0 + 3000, seed: 1 });
  assert.deepEqual(answers, ['accepted', 'max_order_qty', 'price_band', 'instrument_not_allowed', 'tick_size', 'invalid_payload']);
  const fills = r.record.filter((x) => x.kind === 'fill');
  assert.equal(fills.length, 1);
  assert.equal(fills[0]!.kind === 'fill' && fills[0]!.price, 10_000);
  assert.deepEqual(r.strategies[0]!.deniedByRule, { max_order_qty: 1, price_band: 1, instrument_not_allowed: 1, tick_size: 1, invalid_payload: 1 });
});

test('a Kalshi limit rests until a print crosses it and fills at its own price; one that crosses the quote takes it and pays the taker fee', async () => {
  const ticker = 'KXTEST-26DEC-T1';
  const quotes: Array<[number, number, number]> = [[5_000, 4_900, 5_100], [4_800, 4_700, 4_900], [4_600, 4_500, 4_700], [4_700, 4_600, 4_800]];
  const ticks: Tick[] = quotes.map(([last, bid, ask], i) => ({ type: 'tick', venue: 'kalshi', symbol: ticker, seq: i + 1, ts: T0 + i * 1000, recvTs: T0 + i * 1000, last, bid, ask }));
  const mod = scripted(async (_t, ctx, n) => {
    if (n === 0) assert.equal((await ctx.place({ symbol: ticker, side: 'BUY', qty: 100, orderType: 'LIMIT', limitPrice: 4_700 })).status, 'accepted');
    if (n === 3) assert.equal((await ctx.place({ symbol: ticker, side: 'BUY', qty: 100, orderType: 'LIMIT', limitPrice: 4_900 })).status, 'accepted');
  });
  const r = await runBacktest({ strategies: [input(spec('k', 'kalshi', [ticker], {}, { priceBandBps: 5_000 }), mod)], ticks, from: T0, to: T0 + 4000, seed: 3 });
  const fills = r.record.flatMap((f) => (f.kind === 'fill' ? [[f.ts, f.price, f.qty]] : []));
  // The second tick prints 0.48, above the bid of 0.47; the third prints 0.46 through it. The
  // second order crosses the fourth tick's ask of 0.48 and pays it, not its own 0.49.
  assert.deepEqual(fills, [[T0 + 2000, 4_700, 100], [T0 + 3000, 4_800, 100]]);
  const s = r.strategies[0]!;
  // Maker: 0 (Kalshi's maker rate here). Taker: 0.07 × 1 × 0.48 × 0.52 = $0.017472, up to $0.02.
  assert.equal(s.costs, 20_000);
  assert.equal(s.moneyUnit, 'micro-dollars');
  assert.deepEqual(s.positions, { [ticker]: 200 });
});

test('the store\'s candles drive the run: four ticks a candle, in time order across instruments', async () => {
  const root = await mkdtemp(join(tmpdir(), 'orch-bt-'));
  try {
    const candles = (instrument: string, base: number) => Array.from({ length: 30 }, (_, i) => ({
      venue: 'kite' as const, instrument, interval: 'minute' as const, ts: T0 + i * 60_000, open: base + i * 5, high: base + i * 5 + 20, low: base + i * 5 - 20, close: base + i * 5 + 10, volume: 100,
    }));
    await writeCandles([...candles('NSE:TESTCO', 10_000), ...candles('NSE:OTHERCO', 20_000)], { root });
    const ticks = dataTicks([{ venue: 'kite', symbol: 'NSE:TESTCO' }, { venue: 'kite', symbol: 'NSE:OTHERCO' }], T0, T0 + 30 * 60_000, 'minute', { root });
    const seen: Tick[] = [];
    for await (const t of ticks) seen.push(t);
    assert.equal(seen.length, 2 * 30 * 4);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.ts >= seen[i - 1]!.ts);
    assert.deepEqual(seen.filter((t) => t.symbol === 'NSE:TESTCO').slice(0, 4).map((t) => t.last), [10_000, 9_980, 10_020, 10_010]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('--speed N paces the data at N times real time on the wall clock; max never waits', async () => {
  const ticks: Tick[] = [0, 1, 2, 3].map((i) => ({ type: 'tick', venue: 'kite', symbol: 'NSE:TESTCO', seq: i + 1, ts: T0 + i * 1000, recvTs: T0 + i * 1000, last: 10_000 }));
  const fakeWall = () => {
    let now = 1_000_000;
    const slept: number[] = [];
    const clock = { now: () => now, sleep: (ms: number) => { slept.push(ms); now += ms; return Promise.resolve(); } } as unknown as import('../actors/clock.ts').Clock;
    return { clock, slept };
  };
  const idle = scripted(() => undefined);
  const twice = fakeWall();
  await runBacktest({ strategies: [input(spec('s', 'kite', ['NSE:TESTCO'], {}), idle)], ticks, from: T0, to: T0 + 4000, seed: 1, speed: 2, wallClock: twice.clock });
  assert.deepEqual(twice.slept, [500, 500, 500], 'a second of data in half a second of wall time');
  const max = fakeWall();
  await runBacktest({ strategies: [input(spec('s', 'kite', ['NSE:TESTCO'], {}), idle)], ticks, from: T0, to: T0 + 4000, seed: 1, speed: 'max', wallClock: max.clock });
  assert.deepEqual(max.slept, []);
});

test('kill triggers act in a backtest as live: a daily loss or a drawdown halts the strategy (no place reaches the broker from then on), shown in its summary; without triggers it trades on', async () => {
  // Bought 100 at 100.00 on the first tick, then the price falls 0.10 a tick: 10 rupees (1,000 paise) lost per tick.
  const ticks: Tick[] = Array.from({ length: 12 }, (_, i) => ({ type: 'tick', venue: 'kite', symbol: 'NSE:TESTCO', seq: i + 1, ts: T0 + i * 1000, recvTs: T0 + i * 1000, last: 10_000 - i * 10 }));
  const loser = (answers: string[]) => scripted(async (t, ctx, n) => {
    if (n === 0) {
      await ctx.place({ symbol: 'NSE:TESTCO', side: 'BUY', qty: 100, orderType: 'LIMIT', limitPrice: t.last });
      return;
    }
    // A probe every tick: a sell far above the price, cancelled at once (cancels stay allowed at level 1).
    const r = await ctx.place({ symbol: 'NSE:TESTCO', side: 'SELL', qty: 1, orderType: 'LIMIT', limitPrice: t.last + 500 });
    answers.push(r.status === 'denied' ? r.rule : r.status);
    if (r.status === 'accepted') await ctx.cancel(r.intentId);
  });
  const s = (id: string, killTriggers?: Record<string, number>) => {
    const base = spec(id, 'kite', ['NSE:TESTCO'], {});
    return killTriggers ? { ...base, killTriggers: { rejectWindow: 20, maxReauthFailures: 3, reconcileGraceMs: 0, reconcileConfirmChecks: 2, reconcileRecheckMs: 5_000, ...killTriggers } } : base;
  };
  const lossAnswers: string[] = [];
  const freeAnswers: string[] = [];
  const r = await runBacktest({
    strategies: [input(s('loss', { dailyLoss: 3_000 }), loser(lossAnswers)), input(s('free'), loser(freeAnswers))],
    ticks, from: T0, to: T0 + 12_000, seed: 1,
  });
  const loss = r.strategies.find((x) => x.id === 'loss')!;
  // The loss reaches 3,000 paise at the fourth tick (3 ticks × 1,000); its own probe on that tick is the first refused.
  assert.equal(loss.killed?.trigger, 'daily_loss');
  assert.equal(loss.killed?.level, 1);
  assert.equal(loss.killed?.ts, T0 + 3_000);
  assert.deepEqual(lossAnswers, ['accepted', 'accepted', ...Array(9).fill('kill_level')]);
  const placedAfter = r.record.filter((x) => x.kind === 'decision' && x.strategyId === 'loss' && x.intent.action === 'place' && x.ts >= T0 + 3_000);
  assert.deepEqual(placedAfter, [], 'a halted strategy sends nothing to the broker');
  assert.ok(r.record.some((x) => x.kind === 'kill' && x.scope.kind === 'strategy' && x.scope.strategyId === 'loss'), 'the raise is in the record, and so in the hash');
  const free = r.strategies.find((x) => x.id === 'free')!;
  assert.equal(free.killed, undefined);
  assert.deepEqual(freeAnswers, Array(11).fill('accepted'));

  // The registry's global drawdown limit applies to every strategy.
  const dd: string[] = [];
  const g = await runBacktest({ strategies: [input(s('dd'), loser(dd))], ticks, from: T0, to: T0 + 12_000, seed: 1, killTriggers: { maxDrawdown: 5_000 } as never });
  assert.equal(g.strategies[0]!.killed?.trigger, 'max_drawdown');
  assert.equal(g.strategies[0]!.killed?.ts, T0 + 5_000);
  assert.equal(dd.filter((a) => a === 'accepted').length, 4);
});

test('a Kalshi candle\'s ticks carry a touch one cent either side of the price (inside 1c..99c); a Kite candle\'s carry none', () => {
  const kalshi = candleTicks({ venue: 'kalshi', instrument: 'KXTEST-26DEC-T1', interval: 'minute', ts: T0, open: 4_200, high: 9_900, low: 100, close: 4_300, volume: 100 }, 1);
  assert.deepEqual(kalshi.map((t) => [t.last, t.bid, t.ask]), [[4_200, 4_100, 4_300], [100, undefined, undefined], [9_900, undefined, undefined], [4_300, 4_200, 4_400]]);
  const kite = candleTicks({ venue: 'kite', instrument: 'NSE:TESTCO', interval: 'minute', ts: T0, open: 10_000, high: 10_020, low: 9_980, close: 10_010, volume: 100 }, 1);
  assert.ok(kite.every((t) => t.bid === undefined && t.ask === undefined));
});
