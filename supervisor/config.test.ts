import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from './config.ts';
import { repoRoot } from '../test/support/specs.ts';

async function writeTemp(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'orch-cfg-'));
  const f = join(dir, 'strategies.yaml');
  await writeFile(f, text);
  return f;
}

const good = (over = '') => `
strategies:
  - id: a
    module: ${join(repoRoot, 'strategies/momentum/index.ts')}
    venue: kite
    instruments: [NSE:INFY]
    params: { runLength: 3 }
    risk: { maxOrderQty: 1, maxOrderValue: 100, maxPosition: 1, maxOpenOrders: 1 }
${over}`;

test('the shipped config/strategies.yaml is valid, params defaulted by each strategy schema', async () => {
  const cfg = await loadConfig(join(repoRoot, 'config/strategies.yaml'));
  assert.ok(cfg.strategies.length >= 2);
  assert.ok(Object.isFrozen(cfg.strategies[0]));
  const ids = cfg.strategies.map((s) => s.id);
  assert.equal(new Set(ids).size, ids.length);
});

test('a bad field is refused with the file, the line and the field', async () => {
  const f = await writeTemp(good().replace('venue: kite', 'venue: nyse'));
  await assert.rejects(loadConfig(f), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.line, 5);
    assert.equal(e.field, 'strategies[0].venue');
    assert.match(e.message, new RegExp(`^${f}:5: strategies\\[0\\]\\.venue`));
    return true;
  });
});

test("a param the strategy's own schema rejects names the param and its line", async () => {
  const f = await writeTemp(good().replace('params: { runLength: 3 }', 'params:\n      runLength: -1'));
  await assert.rejects(loadConfig(f), (e: unknown) => e instanceof ConfigError && e.line === 8 && e.field === 'strategies[0].params.runLength');
});

test('an unknown key is refused (strict), not silently ignored', async () => {
  const f = await writeTemp(good().replace('    venue: kite', '    venue: kite\n    venu: kite'));
  await assert.rejects(loadConfig(f), (e: unknown) => e instanceof ConfigError && e.line === 6 && /venu/.test(e.message));
});

test('broken YAML syntax reports its line', async () => {
  const f = await writeTemp('strategies:\n  - id: a\n    instruments: [NSE:INFY\n');
  await assert.rejects(loadConfig(f), (e: unknown) => e instanceof ConfigError && e.field === '(yaml)' && typeof e.line === 'number');
});

test('duplicate strategy ids are refused', async () => {
  const text = good() + good().replace('strategies:\n', '');
  const f = await writeTemp(text);
  await assert.rejects(loadConfig(f), /duplicate strategy id "a"/);
});

test('a module that cannot be loaded is refused naming the module line', async () => {
  const f = await writeTemp(good().replace(/module: .*/, 'module: ./nope.ts'));
  await assert.rejects(loadConfig(f), (e: unknown) => e instanceof ConfigError && e.line === 4 && /cannot load/.test(e.message));
  assert.ok((await readFile(f, 'utf8')).includes('nope'));
});

test('externalAtStart is read (kill or baseline); anything else is refused naming the field; absent leaves the default to the system', async () => {
  assert.equal((await loadConfig(await writeTemp(`externalAtStart: baseline\n${good()}`))).externalAtStart, 'baseline');
  assert.equal((await loadConfig(await writeTemp(good()))).externalAtStart, undefined);
  await assert.rejects(loadConfig(await writeTemp(`externalAtStart: accept\n${good()}`)), (e: unknown) => e instanceof ConfigError && e.field === 'externalAtStart');
});
