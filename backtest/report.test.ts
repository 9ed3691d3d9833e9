import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Tick } from '../actors/messages.ts';
import { mulberry32 } from '../actors/prng.ts';
import { StrategyEntrySchema } from '../config/registry.ts';
import momentum from '../strategies/momentum/index.ts';
import meanReversion from '../strategies/mean-reversion/index.ts';
import { runBacktest } from './runner.ts';
import { downsample, money, renderReport } from './report-html.ts';
import { progressBar, progressLine } from './progress.ts';

const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const T0 = Date.UTC(2026, 10, 16, 3, 45);

/** The page as headless Chromium leaves it once its scripts ran (Debian's chromium; .ci/run installs it). */
async function renderedDom(file: string, profile: string): Promise<string> {
  const { stdout } = await run(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--dump-dom', `file://${file}`,
  ], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

test('the HTML report draws an equity curve and a drawdown for every strategy in headless Chromium', async () => {
  const ticks: Tick[] = [];
  const rnd = mulberry32(11);
  let p = 150_000;
  for (let i = 0; i < 3_000; i++) {
    p += (Math.floor(rnd() * 5) - 2) * 5;
    ticks.push({ type: 'tick', venue: 'kite', symbol: 'NSE:INFY', seq: i + 1, ts: T0 + i * 1000, recvTs: T0 + i * 1000, last: p });
  }
  const spec = (id: string, params: Record<string, unknown>) => ({
    ...StrategyEntrySchema.parse({ id, module: `${id}.ts`, venue: 'kite', instruments: ['NSE:INFY'], params, risk: { maxOrderQty: 10, maxOrderValue: 100_000_000, maxPosition: 10, maxOpenOrders: 4 } }),
    restart: { maxRestarts: 1, withinSeconds: 60 },
  });
  const r = await runBacktest({
    strategies: [
      { spec: spec('mom', momentum.paramsSchema.parse({})), module: momentum },
      { spec: spec('mr', meanReversion.paramsSchema.parse({ window: 10, band: 20, requoteAfter: 10 })), module: meanReversion },
    ],
    ticks, from: T0, to: T0 + 3_000_000, seed: 1,
  });
  assert.ok(r.strategies.every((s) => s.fills > 0), JSON.stringify(r.strategies));
  const dir = await mkdtemp(join(tmpdir(), 'orch-report-'));
  try {
    const file = join(dir, 'report.html');
    const html = renderReport(r);
    // A static file: nothing loaded from anywhere (no script src, stylesheet link, image or font URL).
    assert.ok(!/<(link|img|iframe)\b|\bsrc=|url\(|@import/i.test(html), 'the report loads nothing from outside itself');
    await writeFile(file, html);
    const dom = await renderedDom(file, join(dir, 'profile'));
    assert.match(dom, /<html[^>]*data-charts-drawn="4"/, 'two charts for each of two strategies');
    const charts = [...dom.matchAll(/<svg[^>]*data-kind="(equity|drawdown)"[^>]*data-points="(\d+)"[^>]*>([\s\S]*?)<\/svg>/g)];
    assert.equal(charts.length, 4);
    for (const [, kind, points, body] of charts) {
      const poly = /<polyline[^>]*points="([^"]+)"/.exec(body!);
      assert.ok(poly, `${kind}: a line was drawn`);
      const xy = poly[1]!.trim().split(/\s+/).map((pair) => pair.split(',').map(Number));
      assert.equal(xy.length, Number(points), `${kind}: one vertex per point`);
      assert.ok(xy.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y)), `${kind}: every vertex is a number`);
      assert.ok(new Set(xy.map(([, y]) => y)).size > 1, `${kind}: the line moves`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a curve is thinned for the report without losing its lowest point', () => {
  const pts = Array.from({ length: 10_000 }, (_, i) => ({ ts: i, equity: i === 7_777 ? -5_000 : Math.round(Math.sin(i / 100) * 100), drawdown: 0 }));
  const thin = downsample(pts, 500);
  assert.ok(thin.length <= 501);
  assert.equal(Math.min(...thin.map((p) => p.equity)), -5_000);
  assert.deepEqual(thin.at(-1), pts.at(-1));
  assert.equal(money('paise', -123_456), '-₹1,234.56');
  assert.equal(money('micro-dollars', 1_750_000), '$1.75');
});

test('the progress bar draws on a terminal only: data time reached and ticks per second', () => {
  const p = { ts: T0 + 30 * 60_000, ticks: 50_000, elapsedMs: 500, from: T0, to: T0 + 60 * 60_000 };
  assert.equal(progressBar({ isTTY: false, write: () => assert.fail('nothing on a pipe') }), undefined);
  const line = progressLine(p);
  assert.match(line, /50\.0%/);
  assert.match(line, /data 2026-11-16 04:15:00 UTC/);
  assert.match(line, /100,000 ticks\/s/);
  const out: string[] = [];
  const bar = progressBar({ isTTY: true, columns: 200, write: (s) => out.push(s) })!;
  bar.update(p);
  bar.done();
  assert.equal(out[0], `\r${line}\x1b[K`);
  assert.equal(out[1], '\n');
});
