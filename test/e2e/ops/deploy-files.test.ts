import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

/** Dockerfile instructions of one stage, continuation lines joined. */
function stages(dockerfile: string): string[][] {
  const lines = dockerfile.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out: string[][] = [];
  for (const l of lines) {
    if (/^FROM\s/i.test(l)) out.push([l]);
    else out.at(-1)?.push(l);
  }
  return out;
}

test('the Dockerfile builds with npm ci and runs as a non-root user on node 20 bookworm-slim', () => {
  const s = stages(read('Dockerfile'));
  assert.equal(s.length, 2, 'a build stage and a runtime stage');
  const [build, runtime] = s as [string[], string[]];
  assert.ok(build.some((l) => /^RUN npm ci\b/.test(l)));
  assert.match(read('Dockerfile'), /ARG NODE_IMAGE=node:20-bookworm-slim/);
  assert.ok(runtime.some((l) => /apt-get install .*\bnats-server\b/.test(l)));
  const user = runtime.filter((l) => l.startsWith('USER ')).at(-1);
  assert.ok(user && !/\broot\b|\b0\b/.test(user), `runtime user: ${user}`);
  assert.ok(runtime.some((l) => /^HEALTHCHECK .*node.*http:\/\/127\.0\.0\.1:9464\/healthz/.test(l)));
  assert.equal(runtime.filter((l) => l.startsWith('CMD ')).at(-1), 'CMD ["node","bin/orch.js","start"]');
});

test('.dockerignore keeps secrets, state and node_modules out of the build context', () => {
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
  for (const p of ['.env', '.orch', 'node_modules', '.git']) assert.ok(ignored.includes(p), `${p} not ignored`);
});

test('the image keeps what the reload type check needs: production dependencies (typescript, @types/node; test/reload/typecheck-production.test.ts) and tsconfig.json', () => {
  const [build, runtime] = stages(read('Dockerfile')) as [string[], string[]];
  // The runtime gets exactly what `npm ci` then `npm prune --omit=dev` leave: the layout the production test models.
  assert.ok(build.some((l) => /^RUN npm ci\b/.test(l)) && build.some((l) => /npm prune --omit=dev\b/.test(l)));
  assert.ok(runtime.includes('COPY --from=build /app /app'));
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
  for (const p of ['tsconfig.json', 'package.json', 'package-lock.json']) assert.ok(!ignored.includes(p), `${p} is in the image`);
  const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
  for (const d of ['typescript', '@types/node']) assert.ok(pkg.dependencies[d], `${d} is a production dependency`);
});

test('the systemd unit restarts on failure, reads its env file and is hardened', () => {
  const unit = read('deploy/systemd/orch.service');
  for (const line of [
    'Restart=on-failure', 'EnvironmentFile=/etc/orch/orch.env', 'User=orch', 'NoNewPrivileges=yes',
    'ProtectSystem=strict', 'ReadWritePaths=/var/lib/orch',
  ]) assert.match(unit, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'), line);
  assert.doesNotMatch(unit, /^MemoryDenyWriteExecute=yes/m, 'V8 needs W+X pages');
});

test('systemd-analyze verify finds nothing to complain about in the unit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-unit-'));
  try {
    // the node binary lives elsewhere on some hosts; verify against this one
    const unit = read('deploy/systemd/orch.service').replace('ExecStart=/usr/bin/node', `ExecStart=${process.execPath}`);
    writeFileSync(join(dir, 'orch.service'), unit);
    const res = spawnSync('systemd-analyze', ['verify', join(dir, 'orch.service')], { encoding: 'utf8', timeout: 10_000 });
    const out = `${res.stdout}${res.stderr}`.trim();
    assert.equal(res.status, 0, out);
    assert.equal(out, '', out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
