import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfigText } from '../../../supervisor/config.ts';
import { lookupFromAdapters, unknownInstrument } from '../../../supervisor/instrument-check.ts';
import type { LoadedConfig } from '../../../config/registry.ts';

const text = `strategies:
  - id: alpha
    module: ./a.ts
    risk: {"maxOrderQty":5,"maxOrderValue":100000000,"maxPosition":10,"maxOpenOrders":3,"priceBandBps":1000}
    venue: kite
    instruments:
      - NSE:INFY
      - NSE:NOSUCH
  - id: fed
    module: ./a.ts
    risk: {"maxOrderQty":5,"maxOrderValue":100000000,"maxPosition":10,"maxOpenOrders":3,"priceBandBps":1000}
    venue: kalshi
    instruments: [KXFED-26DEC-T4.00]
`;

async function withRegistry(body: string, fn: (config: LoadedConfig) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'orch-instr-'));
  try {
    const file = join(dir, 'orch.yaml');
    await writeFile(file, body);
    const { config } = parseConfigText(body, file);
    await fn({ ...config, file, strategies: config.strategies.map((s) => ({ ...s, restart: config.restartIntensity })) } as LoadedConfig);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('an instrument the venue does not list is refused with the file, its line and field', async () => {
  await withRegistry(text, async (config) => {
    const kite = new Set(['NSE:INFY']);
    const e = await unknownInstrument(config, lookupFromAdapters([{ venue: 'kite', knows: async (s) => kite.has(s) }]));
    assert.ok(e instanceof ConfigError);
    assert.equal(e.field, 'strategies[0].instruments[1]');
    assert.equal(e.line, 8);
    assert.equal(e.message, `${config.file}:8: strategies[0].instruments[1]: alpha: NSE:NOSUCH is not in the kite instrument list`);
  });
});

test('a venue without a list (or not running here) refuses nothing; known instruments pass', async () => {
  await withRegistry(text, async (config) => {
    assert.equal(await unknownInstrument(config, lookupFromAdapters([{ venue: 'kite', knows: async () => true }])), undefined);
    assert.equal(await unknownInstrument(config, lookupFromAdapters([{ venue: 'kite' }])), undefined);
  });
});

test('a Kalshi market the venue answers unknown is refused on its own line', async () => {
  await withRegistry(text, async (config) => {
    const e = await unknownInstrument(config, async (venue) => venue !== 'kalshi');
    assert.equal(e?.field, 'strategies[1].instruments[0]');
    assert.equal(e?.line, 13);
  });
});

test('a disabled strategy is not checked', async () => {
  await withRegistry(text.replace('    venue: kite\n', '    venue: kite\n    enabled: false\n'), async (config) => {
    assert.equal(await unknownInstrument(config, async (venue) => venue !== 'kite'), undefined);
  });
});
