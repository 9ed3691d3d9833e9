import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { kiteBrokerOnSim } from '../../support/kite-broker.ts';
import { spec, fixture, eventually } from '../../support/specs.ts';
import { Supervisor } from '../../../supervisor/supervisor.ts';
import { SystemClock } from '../../../actors/clock.ts';

type Report = { life: number; position: Record<string, number>; openOrders: { intentId: string; qty: number; side: string; state: string }[] };

test('a strategy restarted after a crash starts with its position and its resting order, not blind', async (t) => {
  const log = pino({ level: 'silent' });
  const reportFile = join(await mkdtemp(join(tmpdir(), 'orch-holder-')), 'report.jsonl');
  const holder = spec('holder', { module: fixture('holder'), params: { reportFile, buyQty: 2 }, restart: { maxRestarts: 3, withinSeconds: 60 } });
  const { natsUrl, running } = await kiteBrokerOnSim(t, { name: 'restart-state', strategies: [holder], log });
  const sup = new Supervisor({ host: { natsUrl, logLevel: 'silent' }, clock: new SystemClock(), log });
  t.after(() => sup.stopAll());
  await sup.startAll([holder]);
  await eventually(async () => (await sup.view())[0]!.restarts >= 1 && sup.status('holder') === 'running', 'holder to crash and be restarted', 30_000);
  const reports = await eventually(async () => {
    const lines = (await readFile(reportFile, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Report);
    return lines.length >= 2 ? lines : undefined;
  }, 'the second life to report');
  const atBroker = running.broker.position('holder', 'NSE:INFY');
  const resting = running.broker.book.open('holder');
  assert.equal(reports[0]!.position['NSE:INFY'], 0, 'the first life starts flat');
  assert.ok(atBroker >= 2, `the first life bought (broker holds ${atBroker})`);
  assert.equal(reports[1]!.position['NSE:INFY'], atBroker, 'the second life is told what it holds');
  assert.deepEqual(reports[1]!.openOrders.map((o) => o.intentId), resting.map((o) => o.intentId), 'and its resting order');
  assert.equal(resting.length, 1);
});
