import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { transpileGraph, type CompiledModule } from './transpile.ts';

/**
 * Strategy workers run plain JavaScript compiled here, in the supervisor, instead of loading
 * the TypeScript loader themselves. On Node 20 a worker that registers tsx gets its own
 * module-hooks thread (a second V8 isolate with tsx and esbuild in it) and compiles every
 * module again: about half of a worker's memory (docs/latency.md, "Memory per worker").
 *
 * Each module graph is bundled into one ES module: the module's own files (relative imports)
 * are inlined, packages stay imports, rewritten to the absolute file each resolves to from its
 * importer, so the worker loads the same package files it would have loaded by name, wherever
 * the bundle lies.
 */
export type { CompiledModule } from './transpile.ts';

/**
 * Compiles `entry` into a file in `dir` (this process's private temporary folder by default).
 * With `dir` null, or where no file can be written, the code goes as a data: URL instead: it
 * runs the same, but Node 20 applies no source map to a data: module, so stack traces give the
 * bundle's lines.
 */
export async function compileModule(entry: string, dir: string | null = compiledDir()): Promise<CompiledModule> {
  const ready = precompiled.get(entry);
  if (ready !== undefined) return { url: ready, release: async () => undefined };
  if (mayNotSpawn()) {
    if (dir === null) throw new Error(`${entry}: a process under the permission model compiles into its compile folder only`);
    return transpileGraph(entry, dir);
  }
  // Loaded on first use: a process that may not run esbuild's binary never loads it.
  const { build } = await import('esbuild');
  const file = join(dir ?? dirname(entry), `${basename(entry)}.${randomUUID()}.mjs`);
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    // Where the file will be: the source map names the sources relative to it.
    outfile: file,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Node's resolution for ESM: the "node"/"import"/"default" conditions, "main" only.
    conditions: [],
    mainFields: ['main'],
    // Stack traces name the TypeScript file and line, as they did under tsx.
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'silent',
    plugins: [packagesByAbsoluteUrl, importMetaOfEachFile],
  });
  const js = out.outputFiles[0]!.text;
  if (dir !== null) {
    try {
      await writeFile(file, js, { mode: 0o600, flag: 'wx' });
      return { url: pathToFileURL(file).href, release: () => rm(file, { force: true }) };
    } catch {
      // fall through to a data: URL
    }
  }
  // Frames name the entry's file rather than a data: URL of the whole bundle.
  const named = js.replace(/^\/\/# sourceMappingURL=/m, (m) => `//# sourceURL=${pathToFileURL(entry).href}\n${m}`);
  return { url: `data:text/javascript;base64,${Buffer.from(named).toString('base64')}`, release: async () => undefined };
}

/**
 * True under Node's permission model without --allow-child-process (the strategies process,
 * supervisor/strategies-process.ts): esbuild cannot run there, TypeScript's transpiler does
 * (supervisor/transpile.ts).
 */
export function mayNotSpawn(): boolean {
  // Absent (undefined) unless the process runs with --experimental-permission.
  const permission: NodeJS.ProcessPermission | undefined = process.permission;
  return permission?.has('child') === false;
}

const precompiled = new Map<string, string>();

/**
 * Our own worker code (the strategy worker, the kill relay, the market-data hub, the reload probe), compiled with
 * esbuild by the launcher of a process that may not run it (supervisor/strategies-process.ts):
 * that process then compiles only strategy modules with TypeScript's transpiler, file by file,
 * which for our own code's dozens of files cost it seconds at every start. Keyed by source file.
 */
export function usePrecompiled(codes: Readonly<Record<string, string>>): void {
  for (const [source, url] of Object.entries(codes)) precompiled.set(source, url);
}

let privateDir: string | null | undefined;

/**
 * The folder compiled code is written to in a process that may write only there (the strategies
 * process gets it from its launcher, which removes it).
 */
export function useCompileDir(dir: string): void {
  privateDir = dir;
}

/** A 0700 folder of this process, removed when it exits; null where none can be made. */
export function compiledDir(): string | null {
  if (privateDir === undefined) {
    try {
      const made = mkdtempSync(join(tmpdir(), 'orch-workers-'));
      privateDir = made;
      process.once('exit', () => rmSync(made, { recursive: true, force: true }));
    } catch {
      privateDir = null;
    }
  }
  return privateDir;
}

const workerSource = fileURLToPath(new URL('../actors/strategy-worker.ts', import.meta.url));
let workerCode: Promise<string> | undefined;

/** The strategy worker's own code (actors/strategy-worker.ts), compiled once per process and kept. */
export function compiledWorkerCode(): Promise<string> {
  workerCode ??= compileModule(workerSource).then((c) => c.url);
  workerCode.catch(() => { workerCode = undefined; });
  return workerCode;
}

const packagesByAbsoluteUrl: Plugin = {
  name: 'packages-by-absolute-url',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (/^(node|data|file):/.test(args.path) || (args.pluginData as { resolving?: true } | undefined)?.resolving) return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { resolving: true } });
      if (r.errors.length > 0) return { errors: r.errors };
      // Node's built-in modules stay as named.
      if (r.external) return { path: args.path, external: true };
      return { path: pathToFileURL(r.path).href, external: true };
    });
  },
};

/**
 * import.meta.url (and dirname/filename) of each inlined file keeps naming that file: a bundle
 * loaded from a data: URL would otherwise give every file the data: URL.
 */
const importMetaOfEachFile: Plugin = {
  name: 'import-meta-of-each-file',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
      if (args.path.includes('/node_modules/')) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta')) return undefined;
      const contents = text
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll('import.meta.filename', JSON.stringify(args.path))
        .replaceAll('import.meta.dirname', JSON.stringify(fileURLToPath(new URL('.', pathToFileURL(args.path))).replace(/\/$/, '')));
      return { contents, loader: /\.[cm]?tsx?$/.test(args.path) ? (args.path.endsWith('x') ? 'tsx' : 'ts') : (args.path.endsWith('x') ? 'jsx' : 'js'), resolveDir: fileURLToPath(new URL('.', pathToFileURL(args.path))) };
    });
  },
};
