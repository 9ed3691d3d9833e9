import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../support/specs.ts';
import type { typecheckModules as TypecheckModules } from '../../../supervisor/typecheck.ts';

/**
 * The reload's type check runs where orch runs, and the Docker image (and any `npm ci
 * --omit=dev` install) has only the production dependencies. This test lays out such an
 * install: the repo's code beside a node_modules holding only the packages package-lock.json
 * does not mark `dev` (what `npm ci --omit=dev` / `npm prune --omit=dev` keep), and runs the
 * check from there. Were the compiler or Node's types a dev dependency, the check could not run
 * there ('unchecked') and a module with type errors would be hot-reloaded.
 */

/** Top-level packages a production install keeps, from the lockfile. */
async function productionPackages(): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([path, p]) => path.startsWith('node_modules/') && !path.slice('node_modules/'.length).includes('node_modules/') && p.dev !== true)
    .map(([path]) => path.slice('node_modules/'.length));
}

/** The repo's code (no tests, no node_modules) with a production-only node_modules. */
async function productionLayout(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'orch-prod-'));
  const skip = new Set(['node_modules', '.git', '.orch', 'test', 'bench', 'docs', 'deploy']);
  for (const e of await readdir(repoRoot)) {
    if (skip.has(e)) continue;
    await cp(join(repoRoot, e), join(dir, e), { recursive: true, filter: (src) => !src.includes('/node_modules') });
  }
  for (const name of await productionPackages()) {
    await mkdir(dirname(join(dir, 'node_modules', name)), { recursive: true });
    await symlink(join(repoRoot, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
  }
  return dir;
}

test('the compiler and the types the reload check needs are production dependencies', async () => {
  const prod = await productionPackages();
  for (const name of ['typescript', '@types/node']) assert.ok(prod.includes(name), `${name} is kept by npm ci --omit=dev`);
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  assert.ok(pkg.dependencies.typescript && pkg.dependencies['@types/node']);
});

test('in a production install the reload type check runs: the example strategies pass, a type error is refused by file and line', async (t) => {
  const dir = await productionLayout();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { typecheckModules } = (await import(pathToFileURL(join(dir, 'supervisor', 'typecheck.ts')).href)) as { typecheckModules: typeof TypecheckModules };
  const examples = (await readdir(join(dir, 'strategies'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => join(dir, 'strategies', e.name, 'index.ts'));
  assert.ok(examples.length >= 3);
  const good = await typecheckModules(examples, { timeoutMs: 120_000 });
  assert.deepEqual(good, { ok: true }, 'checked and clean, not "unchecked"');

  const broken = join(dir, 'strategies', 'momentum', 'index.ts');
  const source = await readFile(broken, 'utf8');
  await writeFile(broken, `${source}\nexport const notANumber: number = 'x';\n`);
  const bad = await typecheckModules([broken], { timeoutMs: 120_000 });
  assert.equal(bad.ok, false, JSON.stringify(bad));
  const d = (bad as { diagnostics: { file?: string; line?: number; message: string }[] }).diagnostics[0]!;
  assert.equal(d.file, broken);
  assert.equal(d.line, source.split('\n').length + 1);
  assert.match(d.message, /TS2322/);
});
