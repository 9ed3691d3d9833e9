import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backtest, type BacktestIo } from '../supervisor/commands/backtest.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLES = join(ROOT, 'backtest', 'samples');

/** The shipped registry's Kite strategies, as a user would copy them, on the shipped sample candles. */
const registry = (dir: string) => `strategies:
  - id: momentum-infy
    module: ${join(ROOT, 'strategies/momentum/index.ts')}
    venue: kite
    instruments: [NSE:INFY, NSE:TCS]
    params: { runLength: 3, qty: 1, maxPosition: 5, slippage: 10, cooldownMs: 2000 }
    risk: { maxOrderQty: 10, maxOrderValue: 5000000, maxPosition: 10, maxOpenOrders: 4, priceBandBps: 200, ordersPerMinute: 30 }
  - id: meanrev-reliance
    module: ${join(ROOT, 'strategies/mean-reversion/index.ts')}
    venue: kite
    instruments: [NSE:RELIANCE]
    params: { window: 20, band: 150, requoteAfter: 60, qty: 1, maxPosition: 3 }
    risk: { maxOrderQty: 5, maxOrderValue: 2000000, maxPosition: 5, maxOpenOrders: 4, priceBandBps: 300, ordersPerMinute: 30 }
# ${dir}
`;

function capture(): BacktestIo & { stdout: string[]; stderr: string[]; bar: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const bar: string[] = [];
  return { stdout, stderr, bar, out: (s) => stdout.push(s), err: (s) => stderr.push(s), progress: { isTTY: false, write: (s: string) => bar.push(s) } };
}

test('orch backtest on the shipped sample data prints a summary with its hash, writes the report, and repeats itself exactly', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-bt-cli-'));
  try {
    const cfg = join(dir, 'strategies.yaml');
    await writeFile(cfg, registry(dir));
    const args = (out: string, seed = '1') => ['--config', cfg, '--data', SAMPLES, '--from', '2026-11-16', '--to', '2026-11-20', '--seed', seed, '--out', out];
    const a = capture();
    assert.equal(await backtest(args(join(dir, 'a')), a), 0, a.stderr.join(''));
    assert.deepEqual(a.bar, [], 'no progress bar when stderr is not a terminal');
    const summary = JSON.parse(a.stdout.join(''));
    assert.match(summary.hash, /^[0-9a-f]{64}$/);
    assert.equal(summary.ticks, 3 * 1_875 * 4, 'five days of minute candles for three instruments, four ticks a candle');
    assert.deepEqual(summary.strategies.map((s: { id: string }) => s.id), ['momentum-infy', 'meanrev-reliance']);
    for (const s of summary.strategies) {
      assert.ok(s.orders > 0 && s.fills > 0, JSON.stringify(s));
      for (const k of ['pnl', 'costs', 'maxDrawdown']) assert.ok(Number.isInteger(s[k]), `${k} is an exact integer`);
      assert.ok(s.exposure.max >= s.exposure.average);
    }
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'a', 'summary.json'), 'utf8')), summary);
    assert.match(await readFile(join(dir, 'a', 'report.html'), 'utf8'), /data-strategy="meanrev-reliance"/);
    assert.match(a.stderr.join(''), new RegExp(`hash ${summary.hash}`));

    const b = capture();
    assert.equal(await backtest(args(join(dir, 'b')), b), 0);
    assert.equal(JSON.parse(b.stdout.join('')).hash, summary.hash, 'same data, registry and seed: same hash');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('orch backtest refuses a bad option naming it, and says when the range holds no data', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-bt-cli-'));
  try {
    const cfg = join(dir, 'strategies.yaml');
    await writeFile(cfg, registry(dir));
    const bad = capture();
    assert.equal(await backtest(['--config', cfg, '--data', SAMPLES, '--from', '2026-11-16', '--to', 'soon'], bad), 2);
    assert.match(bad.stderr.join(''), /--to must be yyyy-mm-dd.*got "soon"/);
    const speed = capture();
    assert.equal(await backtest(['--config', cfg, '--data', SAMPLES, '--from', '2026-11-16', '--to', '2026-11-17', '--speed', '0'], speed), 2);
    assert.match(speed.stderr.join(''), /--speed must be max or a number above 0/);
    const empty = capture();
    assert.equal(await backtest(['--config', cfg, '--data', SAMPLES, '--from', '2020-01-01', '--to', '2020-01-02', '--out', join(dir, 'o')], empty), 3);
    assert.match(empty.stderr.join(''), /no data for kite:NSE:INFY/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('orch backtest reads the registry\'s kill triggers: a strategy that breaches one is halted, and its summary and report say so', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-bt-cli-'));
  try {
    const cfg = join(dir, 'strategies.yaml');
    await writeFile(cfg, `killTriggers: { maxDrawdown: 1 }\n${registry(dir)}`);
    const io = capture();
    assert.equal(await backtest(['--config', cfg, '--data', SAMPLES, '--from', '2026-11-16', '--to', '2026-11-16', '--out', join(dir, 'o')], io), 0, io.stderr.join(''));
    const summary = JSON.parse(io.stdout.join(''));
    const halted = summary.strategies.filter((s: { killed?: { trigger: string } }) => s.killed?.trigger === 'max_drawdown');
    assert.ok(halted.length > 0, JSON.stringify(summary.strategies));
    assert.match(await readFile(join(dir, 'o', 'report.html'), 'utf8'), /halted: max drawdown/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the shipped registry on the shipped samples trades on both venues: the Kalshi quoter quotes against the touch its candles carry, and fills', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-bt-cli-'));
  try {
    const io = capture();
    // Both venues, so the zone is given: 20 November 2026 in UTC holds the Kite session (03:45–10:00 UTC) and the Kalshi day.
    const code = await backtest(['--config', join(ROOT, 'config', 'strategies.yaml'), '--data', SAMPLES, '--from', '2026-11-20', '--to', '2026-11-20', '--tz', 'UTC', '--out', join(dir, 'o')], io);
    assert.equal(code, 0, io.stderr.join(''));
    const summary = JSON.parse(io.stdout.join('')) as { strategies: { id: string; venue: string; orders: number; accepted: number; fills: number }[] };
    const quoter = summary.strategies.find((s) => s.id === 'kalshi-quoter');
    assert.ok(quoter && quoter.venue === 'kalshi', JSON.stringify(summary.strategies));
    assert.ok(quoter.orders > 0 && quoter.accepted > 0 && quoter.fills > 0, JSON.stringify(quoter));
    for (const s of summary.strategies) assert.ok(s.orders > 0, `${s.id} placed nothing: ${JSON.stringify(s)}`);
    assert.deepEqual([...new Set(summary.strategies.map((s) => s.venue))].sort(), ['kalshi', 'kite']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
