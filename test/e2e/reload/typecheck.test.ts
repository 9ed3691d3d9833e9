import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { SystemClock } from '../../../actors/clock.ts';
import { loadConfig } from '../../../supervisor/config.ts';
import { Reloader } from '../../../supervisor/reload.ts';
import { typecheckModules } from '../../../supervisor/typecheck.ts';
import { workspace, strategySource, registry } from '../../support/reload-workspace.ts';
import type { StrategySpec } from '../../../config/registry.ts';

test('a hot reload refuses a strategy module with type errors, naming its file and line, and the running strategy is kept', async () => {
  const ws = await workspace();
  try {
    const marker = join(ws.dir, 'starts.log');
    await writeFile(ws.module('a'), strategySource('v1', marker));
    await writeFile(ws.config, registry([{ id: 'alpha', module: 'a', instruments: ['NSE:INFY'] }]));
    const started: string[] = [];
    const reloader = new Reloader({
      config: await loadConfig(ws.config), clock: new SystemClock(), log: pino({ level: 'silent' }),
      supervisor: { startChild: async (s: StrategySpec) => void started.push(s.id), stopChild: async () => undefined, removeChild: async () => undefined },
      broker: { setStrategies: () => undefined, syncInstruments: async () => undefined, cancelAll: async () => 0 },
    } as ConstructorParameters<typeof Reloader>[0]);
    await reloader.init();

    // Loads and runs under tsx (types stripped), but `ctx.place` gets a string quantity.
    const broken = strategySource('v2', marker).replace("qty: 1, orderType: 'LIMIT'", "qty: '1', orderType: 'LIMIT'");
    assert.notEqual(broken, strategySource('v2', marker));
    await writeFile(ws.module('a'), broken);
    const refused = await reloader.reload('request');
    assert.equal(refused.result, 'invalid');
    assert.equal(refused.error?.file, ws.module('a'));
    const line = broken.split('\n').findIndex((l) => l.includes("qty: '1'")) + 1;
    assert.equal(refused.error?.line, line);
    assert.equal(refused.error?.field, 'strategies[0].module');
    assert.match(refused.error!.message, /TS2322: Type 'string' is not assignable to type 'number'/);
    assert.deepEqual(started, [], 'nothing restarted');

    await writeFile(ws.module('a'), strategySource('v2', marker));
    const fixed = await reloader.reload('request');
    assert.equal(fixed.result, 'applied', JSON.stringify(fixed.error));
    assert.deepEqual(started, ['alpha']);
    await reloader.close();
  } finally {
    await ws.cleanup();
  }
});

test('the type check has a deadline: past it the answer is "unchecked", never a hang', async () => {
  const ws = await workspace();
  try {
    await writeFile(ws.module('a'), strategySource('v1', join(ws.dir, 'm.log')));
    const r = await typecheckModules([ws.module('a')], { timeoutMs: 1 });
    assert.equal(r.ok, 'unchecked');
    assert.match((r as { reason: string }).reason, /within 1 ms/);
  } finally {
    await ws.cleanup();
  }
});
