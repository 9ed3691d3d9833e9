import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { isBuiltin } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type CompiledModule = {
  /** What the worker imports. */
  url: string;
  /** Removes the file(s) once the worker has loaded them (a loaded module needs them no more). */
  release(): Promise<void>;
};

/**
 * The compiler of a process under Node's permission model (docs/deploy.md, "A strategy process
 * holds no secret"): esbuild's JavaScript API runs esbuild's binary as a child process, which
 * that process may not start. TypeScript's `transpileModule` is plain JavaScript, and every file
 * it compiles is read by this process, under this process's file permissions: a strategy module
 * that imports a file outside them fails here as it would at run time.
 *
 * The module graph is compiled file by file into a fresh folder of its own (one per compile, so a
 * reload's new code is a new module to Node, as a new esbuild bundle is): a relative import names
 * the compiled file, a package import the absolute file Node resolves it to from the importer
 * (`import.meta.resolve` with a parent, which needs `--experimental-import-meta-resolve` on
 * Node 20), and `import.meta.url` keeps naming the source file. Like esbuild, it strips types
 * without checking them (the reload's type check does that: supervisor/typecheck.ts).
 */
export async function transpileGraph(entry: string, dir: string): Promise<CompiledModule> {
  const ts = (await import('typescript')).default;
  const out = join(dir, randomUUID());
  await mkdir(out, { mode: 0o700 });
  try {
    const names = new Map<string, string>();
    const nameOf = (file: string) => {
      let name = names.get(file);
      if (name === undefined) {
        name = `${names.size}-${basename(file).replace(/\.[cm]?[jt]sx?$/, '')}.mjs`;
        names.set(file, name);
        queue.push(file);
      }
      return name;
    };
    const queue: string[] = [];
    nameOf(entry);
    for (let i = 0; i < queue.length; i++) {
      const file = queue[i]!;
      const source = await readFile(file, 'utf8');
      const rewritten = await rewriteSpecifiers(source, file, ts, async (spec) => {
        const target = await localTarget(spec, file);
        if (target === undefined) return packageUrl(spec, file);
        return compilable(target) ? `./${nameOf(target)}` : pathToFileURL(target).href;
      });
      const js = ts.transpileModule(withImportMetaOf(rewritten, file), {
        fileName: file,
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          // Stack traces name the TypeScript file and line (the worker enables source maps).
          inlineSourceMap: true,
          sourceRoot: pathToFileURL(dirname(file)).href,
        },
      }).outputText;
      await writeFile(join(out, names.get(file)!), js, { mode: 0o600, flag: 'wx' });
    }
    return { url: pathToFileURL(join(out, names.get(entry)!)).href, release: () => rm(out, { recursive: true, force: true }) };
  } catch (e) {
    await rm(out, { recursive: true, force: true });
    throw e;
  }
}

type Ts = typeof import('typescript');

/** Every import, export-from and literal `import()` specifier, replaced by what `to` gives. */
async function rewriteSpecifiers(source: string, file: string, ts: Ts, to: (spec: string) => Promise<string | undefined>): Promise<string> {
  const refs = ts.preProcessFile(source, true, true).importedFiles;
  let text = source;
  // From the end, so earlier positions stay valid.
  for (const ref of [...refs].sort((a, b) => b.pos - a.pos)) {
    // `pos` is the opening quote's.
    const start = source[ref.pos] === '"' || source[ref.pos] === "'" || source[ref.pos] === '`' ? ref.pos + 1 : ref.pos;
    if (source.slice(start, start + ref.fileName.length) !== ref.fileName) throw new Error(`${file}: could not locate the import of "${ref.fileName}"`);
    const next = await to(ref.fileName);
    if (next !== undefined) text = text.slice(0, start) + next + text.slice(start + ref.fileName.length);
  }
  return text;
}

/** A relative or absolute import's file (as Node 20 with tsx finds it: `.js` may name a `.ts`), or undefined for a package or built-in. */
async function localTarget(spec: string, importer: string): Promise<string | undefined> {
  if (isBuiltin(spec) || /^(node|data):/.test(spec)) return undefined;
  let base: string;
  if (spec.startsWith('file:')) base = fileURLToPath(spec);
  else if (spec.startsWith('./') || spec.startsWith('../') || spec.startsWith('/')) base = resolve(dirname(importer), spec);
  else return undefined;
  const tries = [base, base.replace(/\.([cm]?)js$/, '.$1ts'), `${base}.ts`, join(base, 'index.ts')];
  for (const candidate of tries) {
    if (await stat(candidate).then((s) => s.isFile(), () => false)) return candidate;
  }
  throw new Error(`${importer}: cannot find "${spec}"`);
}

function compilable(file: string): boolean {
  return /\.[cm]?[jt]sx?$/.test(file) && !file.split(/[\\/]/).includes('node_modules');
}

/** A package's file as Node's ESM resolver finds it from the importer; built-ins stay as named. */
function packageUrl(spec: string, importer: string): string | undefined {
  if (isBuiltin(spec) || /^(node|data):/.test(spec)) return undefined;
  try {
    return import.meta.resolve(spec, pathToFileURL(importer).href);
  } catch {
    // A type-only import of a package that is not installed: the compiler drops it anyway, and a
    // real one fails at import with Node's own message.
    return undefined;
  }
}

/** import.meta.url (and dirname/filename) keep naming the source file, wherever the compiled one lies. */
function withImportMetaOf(text: string, file: string): string {
  if (!text.includes(META)) return text;
  return text
    .replaceAll(`${META}.url`, JSON.stringify(pathToFileURL(file).href))
    .replaceAll(`${META}.filename`, JSON.stringify(file))
    .replaceAll(`${META}.dirname`, JSON.stringify(dirname(file)));
}

/** Spelled in two parts: this file is itself compiled by this code in a reload probe, and must not rewrite its own patterns. */
const META = ['import', 'meta'].join('.');
