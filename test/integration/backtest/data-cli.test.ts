/** `orch data`: its options reach the download, the import and the listing (wiring, on the built-in exchange). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataCmd } from '../../../supervisor/commands/data.ts';

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
  assert.match(usage.o.err, /--from must be an IST date/);
  const noSession = capture();
  assert.equal(await dataCmd(['kite', '--instrument', 'NSE:INFY', '--from', '2026-11-19', '--to', '2026-11-20', '--state-dir', dir], { KITE_API_KEY: 'k' }, noSession.io), 2);
  assert.match(noSession.o.err, /run orch login kite/);
});
