import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { eventually } from '../../support/wait.ts';
import { startOrch } from '../../support/orch-start.ts';
import { readAllowList } from '../../../supervisor/strategies-process.ts';

/** A strategy that logs its version on its first tick (the restricted process may write no marker file). */
function versioned(version: string, folder: string, extra = ''): string {
  const sdk = relative(folder, join(repoRoot, 'strategies', 'sdk.ts'));
  return `import { z } from 'zod';
import { defineStrategy } from ${JSON.stringify(sdk)};
import { VERSION_SUFFIX } from './helper.ts';
${extra}
export default defineStrategy({
  paramsSchema: z.strictObject({}),
  create: () => {
    let said = false;
    return {
      onTick: async (_t, ctx) => {
        if (said) return;
        said = true;
        ctx.log.info({ version: ${JSON.stringify(version)} + VERSION_SUFFIX }, 'versioned strategy ticking');
      },
    };
  },
});
`;
}

test('orch start: hot reload works in the permission-restricted strategies process: edited code, and a file it imports, is recompiled there and runs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-perm-reload-'));
  const folder = join(dir, 'strategies');
  await mkdir(folder);
  await mkdir(join(dir, 'config'));
  // The workspace's modules resolve zod through the repo's node_modules, as an operator's would through their own.
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const module = join(folder, 'versioned.ts');
  await writeFile(join(folder, 'helper.ts'), "export const VERSION_SUFFIX = '';\n");
  await writeFile(module, versioned('v1', folder));
  const registry = join(dir, 'config', 'strategies.yaml');
  await writeFile(registry, renderRegistry([{ id: 'ver', module: '../strategies/versioned.ts', instruments: ['NSE:INFY'] }]));
  const orch = await startOrch(dir, registry);
  t.after(async () => {
    await orch.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const strategiesPid = async () => {
    let pid: number | undefined;
    await eventually(async () => (pid = orch.lines().find((l) => l.strategiesPid !== undefined)?.strategiesPid) !== undefined, 'the strategies process', 60_000);
    return pid!;
  };
  const pid = await strategiesPid();
  const versions = () => orch.lines().filter((l) => l.pid === pid && l.msg === 'versioned strategy ticking').map((l) => l.version);
  await eventually(async () => versions().includes('v1'), 'v1 to run in the strategies process', 120_000);

  // The module and a file it imports change: the restricted process compiles both again.
  await writeFile(join(folder, 'helper.ts'), "export const VERSION_SUFFIX = '+helper2';\n");
  await writeFile(module, versioned('v2', folder));
  // Each reload waits for the type check (up to 30 s, in both processes) before it applies.
  await eventually(async () => versions().includes('v2+helper2'), 'v2 with the new helper to run after the reload', 200_000);
});

test('the reload\'s type check runs under the strategies process\'s permissions (code reads only, worker threads, no child process) and refuses a type error by file and line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-perm-typecheck-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const folder = join(dir, 'strategies');
  await mkdir(folder);
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(join(folder, 'helper.ts'), "export const VERSION_SUFFIX = '';\n");
  const module = join(folder, 'versioned.ts');
  await writeFile(module, versioned('v3', folder, "export const wrong: number = 'not a number';"));
  const registry = join(dir, 'strategies.yaml');
  await writeFile(registry, renderRegistry([{ id: 'ver', module: './strategies/versioned.ts', instruments: ['NSE:INFY'] }]));
  // The allow list the launcher gives the strategies process, and the worker supervisor/typecheck.ts starts.
  const reads = await readAllowList({ configFile: registry, secrets: [join(dir, '.orch')], extra: [], log: pino({ level: 'silent' }) });
  const script = `const { Worker } = require('node:worker_threads');
const w = new Worker(${JSON.stringify(join(repoRoot, 'supervisor', 'typecheck-entry.mjs'))}, { workerData: { files: [${JSON.stringify(module)}], tsconfig: ${JSON.stringify(join(repoRoot, 'tsconfig.json'))} }, env: {} });
w.once('message', (m) => { console.log(JSON.stringify({ childAllowed: process.permission.has('child'), answer: m })); process.exit(0); });
w.once('error', (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['--experimental-permission', ...reads.map((p) => `--allow-fs-read=${p}`), '--allow-worker', '-e', script], { encoding: 'utf8', timeout: 200_000, env: {}, cwd: dir }); // the launcher's working directory, which it may not read
  const out = JSON.parse(r.stdout.trim().split('\n').pop() || JSON.stringify({ error: r.stderr })) as { childAllowed: boolean; answer: { ok: boolean; diagnostics: { file: string; line: number; message: string }[] } };
  assert.equal(out.childAllowed, false, `it ran where no child process may start: ${r.stdout} ${r.stderr}`);
  assert.equal(out.answer.ok, true, 'the check ran');
  assert.equal(out.answer.diagnostics.length, 1, JSON.stringify(out.answer.diagnostics));
  assert.equal(out.answer.diagnostics[0]!.file, module);
  assert.match(out.answer.diagnostics[0]!.message, /TS2322/);
});
