import { mkdtemp, writeFile, symlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../actors/logger.ts';
import { repoRoot } from './specs.ts';
import { renderRegistry } from './registry.ts';

/**
 * A scratch directory holding a registry and strategy modules that tests edit on disk, as an
 * operator would. Modules there resolve `zod` through a link to the repo's node_modules.
 */
export type Workspace = { dir: string; config: string; module(name: string): string; cleanup(): Promise<void> };

export async function workspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'orch-reload-'));
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return {
    dir,
    config: join(dir, 'strategies.yaml'),
    module: (name) => join(dir, `${name}.ts`),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * A strategy that appends "<id> <version> <n>" to `marker` when it starts (so a test sees which
 * code and params each incarnation runs) and, with `restBelow`, rests one buy below the market.
 */
export function strategySource(version: string, marker: string): string {
  // A relative path (from the workspace, e.g. under /tmp), which both Node and the TypeScript
  // compiler resolve (the reload's type check does not follow file: URLs).
  const sdk = relative(marker.slice(0, marker.lastIndexOf('/')), join(repoRoot, 'strategies', 'sdk.ts'));
  return `import { appendFileSync } from 'node:fs';
import { z } from 'zod';
import { defineStrategy } from ${JSON.stringify(sdk)};

const VERSION = ${JSON.stringify(version)};

export default defineStrategy({
  paramsSchema: z.strictObject({ n: z.number().int().default(0), restBelow: z.number().int().positive().optional() }),
  create: (p) => {
    let placed = false;
    return {
      onStart: (ctx) => { appendFileSync(${JSON.stringify(marker)}, ctx.id + ' ' + VERSION + ' ' + p.n + '\\n'); },
      onTick: async (t, ctx) => {
        if (p.restBelow === undefined || placed) return;
        placed = true;
        await ctx.place({ symbol: t.symbol, side: 'BUY', qty: 1, orderType: 'LIMIT', limitPrice: t.last - p.restBelow });
      },
    };
  },
});
`;
}

export type Entry = { id: string; module: string; instruments: string[]; params?: Record<string, unknown>; onRemove?: 'cancel-orders' | 'leave-orders'; venue?: string };

/** Renders a registry of workspace modules; `venue` may be set to something invalid on purpose. */
export function registry(entries: Entry[]): string {
  return renderRegistry(entries.map((e) => ({
    ...e, module: `./${e.module}.ts`, onRemove: e.onRemove ?? 'cancel-orders', resources: { maxOldGenerationSizeMb: 64 },
  })));
}

/** The production logger (with its redaction), writing JSON lines the test can read back. */
export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: createLogger({ name: 'orch', level: 'info', destination: dest }), lines };
}
