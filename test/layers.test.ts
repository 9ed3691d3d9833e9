/**
 * Imports point down: the contracts at the bottom, the supervisor at the top, and no cycles.
 * A module may import its own layer or a lower one; a layer's peers (strategies and the
 * built-in exchanges) do not import each other. Tests, test support and benchmarks sit above
 * everything and may use anything; nothing in production imports them.
 *
 *   contracts   config/ (the registry, limits, restart intensity), actors/messages.ts and
 *               actors/subjects.ts (every message and subject, the Venue)
 *   actors      actors/ (the bus, clock, logger, metrics, the strategy actor and its contract)
 *   strategies  strategies/            exchanges  exchanges/   (peers)
 *   broker      broker/
 *   backtest    backtest/ (runs strategies against the built-in exchanges)
 *   supervisor  supervisor/
 *   bin         bin/
 *   tests       test/, bench/, every *.test.ts, and the test support beside the code
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { specifiers } from './support/imports.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Every folder the typecheck covers (tsconfig.json `include`): a new top-level folder gets a layer or fails here. */
const SOURCE_DIRS: string[] = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')).include;
const SOURCE_FILE = /\.(ts|mts|mjs|js)$/;

type Layer = { name: string; rank: number };
/** First match wins; a path prefix ending in / is a folder. */
export const LAYERS: readonly { prefix: string; layer: Layer }[] = (() => {
  const l = (name: string, rank: number): Layer => ({ name, rank });
  const contracts = l('contracts', 0);
  const tests = l('tests', 7);
  return [
    { prefix: 'test/', layer: tests },
    { prefix: 'bench/', layer: tests },
    // Test support kept beside the code it fakes; only tests import it.
    { prefix: 'broker/kite/test-http.ts', layer: tests },
    { prefix: 'config/', layer: contracts },
    { prefix: 'actors/messages.ts', layer: contracts },
    { prefix: 'actors/subjects.ts', layer: contracts },
    { prefix: 'actors/', layer: l('actors', 1) },
    { prefix: 'strategies/', layer: l('strategies', 2) },
    { prefix: 'exchanges/', layer: l('exchanges', 2) },
    { prefix: 'broker/', layer: l('broker', 3) },
    { prefix: 'backtest/', layer: l('backtest', 4) },
    { prefix: 'supervisor/', layer: l('supervisor', 5) },
    { prefix: 'bin/', layer: l('bin', 6) },
  ];
})();

export function layerOf(file: string): Layer {
  if (/\.test\.ts$/.test(file)) return { name: 'tests', rank: 7 };
  const hit = LAYERS.find((x) => (x.prefix.endsWith('/') ? file.startsWith(x.prefix) : file === x.prefix));
  if (!hit) throw new Error(`${file} is in no layer: add it to LAYERS`);
  return hit.layer;
}

/** Why an import from `from` to `to` is not allowed, or undefined when it is. */
export function upward(from: string, to: string): string | undefined {
  const a = layerOf(from);
  const b = layerOf(to);
  if (b.rank > a.rank) return `${a.name} imports ${b.name}, a higher layer`;
  if (b.rank === a.rank && b.name !== a.name) return `${a.name} imports its peer ${b.name}`;
  return undefined;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (SOURCE_FILE.test(name) && !name.endsWith('.d.ts')) out.push(relative(ROOT, p));
  }
  return out;
}

/** Every project file with the project files it imports (relative specifiers that resolve to a file). */
export function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const dir of SOURCE_DIRS) {
    if (!existsSync(join(ROOT, dir))) continue;
    for (const file of sourceFiles(join(ROOT, dir))) {
      const targets: string[] = [];
      for (const spec of specifiers(readFileSync(join(ROOT, file), 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const abs = resolve(ROOT, dirname(file), spec);
        if (existsSync(abs) && statSync(abs).isFile()) targets.push(relative(ROOT, abs));
      }
      graph.set(file, targets);
    }
  }
  return graph;
}

/** The strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

test('no import runs up the layers', () => {
  const bad: string[] = [];
  for (const [from, targets] of importGraph()) {
    for (const to of targets) {
      const why = upward(from, to);
      if (why) bad.push(`${from} -> ${to}: ${why}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('there is no import cycle', () => {
  assert.deepEqual(cycles(importGraph()).map((c) => c.join(' -> ')), []);
});

test('the layer rules refuse an upward import, a peer import and a cycle', () => {
  assert.match(upward('broker/kill/triggers.ts', 'supervisor/restart-policy.ts') ?? '', /broker imports supervisor/);
  assert.match(upward('actors/strategy-actor.ts', 'strategies/sdk.ts') ?? '', /actors imports strategies/);
  assert.match(upward('config/registry.ts', 'actors/logger.ts') ?? '', /contracts imports actors/);
  assert.match(upward('exchanges/kite/orders.ts', 'strategies/sdk.ts') ?? '', /peer/);
  assert.equal(upward('broker/broker-actor.ts', 'config/registry.ts'), undefined);
  assert.equal(upward('broker/decide.test.ts', 'test/support/specs.ts'), undefined);
  assert.throws(() => layerOf('nowhere/x.ts'), /in no layer/);
  const g = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['d.ts']], ['e.ts', ['a.ts']]]);
  assert.deepEqual(cycles(g), [['a.ts', 'b.ts', 'c.ts'], ['d.ts']]);
});
