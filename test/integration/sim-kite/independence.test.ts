/**
 * The built-in Kite exchange is a conformance peer: it checks the venue client, so it must not
 * share the client's code (a wire mistake shared by both would pass every test). It may use
 * the project's clock, logger and seeded random numbers, and npm packages; nothing else outside
 * its own folder, and nothing under broker/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { specifiers } from '../../support/imports.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const EXCHANGE = join(ROOT, 'exchanges/kite');
const ALLOWED_OUTSIDE = new Set(['actors/clock.ts', 'actors/logger.ts', 'actors/log-format.ts', 'actors/prng.ts']);

/** Files reached from exchanges/kite outside it, with the file that imports them. */
function outsideImports(): { from: string; target: string }[] {
  const bad: { from: string; target: string }[] = [];
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue; // node: builtins and npm packages
      const target = resolve(dirname(file), spec);
      const rel = relative(ROOT, target);
      if (target.startsWith(EXCHANGE + '/')) visit(target);
      else if (!ALLOWED_OUTSIDE.has(rel)) bad.push({ from: relative(ROOT, file), target: rel });
      else visit(target); // an allowed module must not lead elsewhere either
    }
  };
  for (const f of readdirSync(EXCHANGE)) if (f.endsWith('.ts') && !f.endsWith('.test.ts')) visit(join(EXCHANGE, f));
  return bad;
}

test('exchanges/kite imports nothing from broker/ (or anywhere but the clock, logger and prng)', () => {
  assert.deepEqual(outsideImports(), []);
});

test('the import scan sees static, dynamic and re-export forms', () => {
  const src = [
    "import { a } from '../../broker/kite/x.ts';",
    "import type { B } from \"../../broker/y.ts\";",
    "export { c } from '../../broker/z.ts';",
    "const m = await import('../../broker/w.ts');",
    "import './side-effect.ts';",
  ].join('\n');
  assert.deepEqual(specifiers(src), ['../../broker/kite/x.ts', '../../broker/y.ts', '../../broker/z.ts', '../../broker/w.ts', './side-effect.ts']);
});
