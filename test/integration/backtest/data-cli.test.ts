/** `orch data`: its options reach the download, the import and the listing (wiring, on the built-in exchange). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataCmd } from '../../../supervisor/commands/data.ts';
import { backtest } from '../../../supervisor/commands/backtest.ts';
import { readCandles } from '../../../backtest/store.ts';

function capture() {
  const o = { out: '', err: '' };
  return { o, io: { out: (s: string) => void (o.out += s), err: (s: string) => void (o.err += s) } };
}

test('orch data kite without credentials downloads from the built-in exchange; import refuses a bad file by line; ls lists both', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-data-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');

  const dl = capture();
  assert.equal(await dataCmd(['kite', '--instrument', 'NSE:INFY', '--from', '2026-11-19', '--to', '2026-11-20', '--interval', '5minute', '--data-dir', dataDir], {}, dl.io), 0, dl.o.err);
  assert.match(dl.o.err, /built-in exchange/);
  assert.match(dl.o.out, /stored 150 5minute candles of NSE:INFY \(token 408065\)/);

  const csv = join(dir, 'tcs.csv');
  await writeFile(csv, 'time,open,high,low,close,volume\n2026-11-20T09:15:00+05:30,4000,4001,3999,4000.5,10\n2026-11-20T09:16:00+05:30,4000,3000,3999,4000,10\n');
  const bad = capture();
  assert.equal(await dataCmd(['import', '--csv', csv, '--venue', 'kite', '--instrument', 'NSE:TCS', '--interval', 'minute', '--data-dir', dataDir], {}, bad.io), 2);
  assert.match(bad.o.err, new RegExp(`tcs\\.csv:3: high: high 300000 is below open, close or low`));
  await writeFile(csv, 'time,open,high,low,close,volume\n2026-11-20T09:15:00+05:30,4000,4001,3999,4000.5,10\n');
  const good = capture();
  assert.equal(await dataCmd(['import', '--csv', csv, '--venue', 'kite', '--instrument', 'NSE:TCS', '--interval', 'minute', '--data-dir', dataDir], {}, good.io), 0, good.o.err);

  const ls = capture();
  assert.equal(await dataCmd(['ls', '--data-dir', dataDir, '--json'], {}, ls.io), 0);
  const listed = JSON.parse(ls.o.out) as { series: { instrument: string; interval: string; count: number }[] };
  assert.deepEqual(listed.series.map((s) => [s.instrument, s.interval, s.count]), [['NSE:INFY', '5minute', 150], ['NSE:TCS', 'minute', 1]]);

  const usage = capture();
  assert.equal(await dataCmd(['kite', '--instrument', 'NSE:INFY', '--from', 'yesterday', '--to', '2026-11-20'], {}, usage.io), 2);
  assert.match(usage.o.err, /--from must be yyyy-mm-dd/);
  const noSession = capture();
  assert.equal(await dataCmd(['kite', '--instrument', 'NSE:INFY', '--from', '2026-11-19', '--to', '2026-11-20', '--state-dir', dir], { KITE_API_KEY: 'k' }, noSession.io), 2);
  assert.match(noSession.o.err, /run orch login kite/);
});

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

test('orch data kite and orch backtest read the same --from/--to text as the same instants: IST for Kite by default, an offset or --tz where given', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-when-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  const cfg = join(dir, 'strategies.yaml');
  await writeFile(cfg, `strategies:
  - id: momentum-infy
    module: ${join(ROOT, 'strategies/momentum/index.ts')}
    venue: kite
    instruments: [NSE:INFY]
    params: { runLength: 3, qty: 1, maxPosition: 5, slippage: 10, cooldownMs: 2000 }
    risk: { maxOrderQty: 10, maxOrderValue: 5000000, maxPosition: 10, maxOpenOrders: 4, priceBandBps: 200, ordersPerMinute: 30 }
`);
  const stored = async () => {
    const out: number[] = [];
    for await (const c of readCandles({ venue: 'kite', instrument: 'NSE:INFY', interval: 'minute', from: 0, to: Date.parse('2027-01-01') }, { root: dataDir })) out.push(c.ts);
    return out;
  };
  // 09:15 to 09:29 IST, both inclusive: fifteen minute candles, 03:45Z to 03:59Z.
  const expected = Array.from({ length: 15 }, (_, i) => Date.parse('2026-11-19T03:45:00Z') + i * 60_000);
  const spellings: string[][] = [
    ['--from', '2026-11-19 09:15', '--to', '2026-11-19 09:29'],
    ['--from', '2026-11-19T03:45:00Z', '--to', '2026-11-19T09:29:00+05:30'],
    ['--from', '2026-11-19 03:45', '--to', '2026-11-19 03:59', '--tz', 'UTC'],
  ];
  for (const range of spellings) {
    await rm(dataDir, { recursive: true, force: true });
    const dl = capture();
    assert.equal(await dataCmd(['kite', '--instrument', 'NSE:INFY', '--interval', 'minute', '--data-dir', dataDir, ...range], {}, dl.io), 0, dl.o.err);
    assert.deepEqual(await stored(), expected, `orch data kite ${range.join(' ')}`);
    // More data than the range, so the backtest's own reading of the same text decides what it runs on.
    const wider = capture();
    assert.equal(await dataCmd(['kite', '--instrument', 'NSE:INFY', '--interval', 'minute', '--data-dir', dataDir, '--from', '2026-11-19', '--to', '2026-11-19'], {}, wider.io), 0, wider.o.err);
    const bt = { out: [] as string[], err: [] as string[] };
    const code = await backtest(['--config', cfg, '--data', dataDir, '--out', join(dir, 'bt'), ...range], { out: (s) => bt.out.push(s), err: (s) => bt.err.push(s), progress: { isTTY: false, write: () => true } });
    assert.equal(code, 0, bt.err.join(''));
    const summary = JSON.parse(bt.out.join('')) as { ticks: number; firstTick: string; lastTick: string };
    assert.equal(summary.ticks, 15 * 4, `orch backtest ${range.join(' ')}: the same fifteen candles`);
    assert.equal(summary.firstTick, '2026-11-19T03:45:00.000Z');
    assert.equal(Date.parse(summary.lastTick) < expected.at(-1)! + 60_000, true);
  }
});
