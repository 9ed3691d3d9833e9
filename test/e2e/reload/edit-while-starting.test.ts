import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { SystemClock } from '../../../actors/clock.ts';
import { loadConfig } from '../../../supervisor/config.ts';
import { Reloader, startingPoint } from '../../../supervisor/reload.ts';
import { workspace, strategySource, registry } from '../../support/reload-workspace.ts';
import { eventually } from '../../support/wait.ts';
import type { StrategySpec } from '../../../config/registry.ts';

/**
 * The watch begins after the strategies have started (seconds, with their compiles): a module
 * saved in between reached no watcher, and the strategy kept running the old code until the next
 * edit. The reloader compares with what the strategies started from and reloads.
 */
test('a module edited while the strategies start is reloaded once the watch begins', async () => {
  const ws = await workspace();
  try {
    await writeFile(ws.module('a'), strategySource('v1', join(ws.dir, 'starts.log')));
    await writeFile(ws.config, registry([{ id: 'alpha', module: 'a', instruments: ['NSE:INFY'] }]));
    const config = await loadConfig(ws.config);
    const startedFrom = await startingPoint(config);
    // ... the strategies start from v1 here, and meanwhile the author saves v2:
    await writeFile(ws.module('a'), strategySource('v2', join(ws.dir, 'starts.log')));
    const restarted: string[] = [];
    const reloader = new Reloader({
      config, clock: new SystemClock(), log: pino({ level: 'silent' }), debounceMs: 10,
      typecheck: async () => ({ ok: true }),
      supervisor: { startChild: async (s: StrategySpec) => void restarted.push(s.id), stopChild: async () => undefined, removeChild: async () => undefined },
      broker: { setStrategies: () => undefined, syncInstruments: async () => undefined, cancelAll: async () => 0 },
    } as unknown as ConstructorParameters<typeof Reloader>[0]);
    await reloader.init(startedFrom);
    reloader.watch();
    await eventually(() => restarted.includes('alpha'), 'the strategy restarted on v2 without another edit', 30_000);
    await reloader.close();
  } finally {
    await ws.cleanup();
  }
});
