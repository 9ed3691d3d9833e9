import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import type { LogFormat } from '../actors/logger.ts';
import { THREAD_STAT_FILE } from '../actors/thread-priority.ts';
import { SupervisorError } from './errors.ts';
import type { Credentials, Role } from './nats-auth.ts';
import { ChildMessageSchema, ParentMessageSchema, type ParentMessage, type StrategiesStart } from './strategies-ipc.ts';
import { compileModule } from './worker-code.ts';

const mainSource = fileURLToPath(new URL('./strategies-main.ts', import.meta.url));
/** The worker code of our own the strategies process runs (supervisor/worker-code.ts usePrecompiled). */
const OWN_WORKER_SOURCES = ['../actors/strategy-worker.ts', './kill-relay-worker.ts', './md-hub-worker.ts', './reload-probe.ts'].map((f) => fileURLToPath(new URL(f, import.meta.url)));
const repoRoot = fileURLToPath(new URL('..', import.meta.url)).replace(/[\\/]$/, '');

export class SecretInReachError extends SupervisorError {
  override readonly name = 'SecretInReachError';
  constructor(message: string) {
    super('secret_in_reach', message);
  }
}

export type StrategiesProcessOptions = {
  configFile: string;
  natsUrl: string;
  group?: string;
  natsCaFile?: string;
  /** The supervisor's and the strategies' NATS users; absent = an open server. */
  credentials?: (role: Role) => Credentials | Promise<Credentials>;
  /** Files and folders the strategies process must not be able to read: the state directory, the .env, key files. */
  secrets: readonly string[];
  log: Logger;
  logFormat: LogFormat;
  logColor?: boolean;
  logLevel?: string;
  hotReload?: boolean;
  /** Its /metrics and /healthz port (false = none) and address. */
  metricsPort: number | false;
  metricsHost: string;
  /** The launcher's environment; only the time zone and locale pass on. */
  env?: NodeJS.ProcessEnv;
};

export type StrategiesProcess = {
  pid: number;
  /** The ids it runs, once it runs them. */
  running: Promise<string[]>;
  /** Its exit code (null: ended by a signal). */
  exited: Promise<number | null>;
  /** Its /metrics, once it runs (metricsPort 0 takes a free port). */
  metricsUrl(): string | undefined;
  /** A strategy's state as the process last reported it (supervisor/supervisor.ts ChildStatus); `stopped` once the process is gone. */
  status(id: string): string | undefined;
  stop(): Promise<void>;
};

/**
 * Starts the strategies of the registry in a process of their own under Node 20's permission
 * model (docs/deploy.md, "A strategy process holds no secret"): it reads only the code (the
 * repository's folders, node_modules, the registry and its strategies' folders) and the NATS CA,
 * writes only its compile folder, starts worker threads but no child process, loads no native
 * addon, and gets none of this process's environment. Its NATS users are answered over the IPC
 * channel, the supervisor's and the strategies' only: it never holds the operator's or the
 * broker's password, a venue key or token. The process's own code is compiled here (esbuild
 * needs a child process); the strategy modules are compiled there, under its file permissions
 * (supervisor/transpile.ts), so a hot reload recompiles a changed module as before.
 */
export async function startStrategiesProcess(o: StrategiesProcessOptions): Promise<StrategiesProcess> {
  const compiled = await compileModule(mainSource);
  const compileDir = await mkdtemp(join(tmpdir(), 'orch-strategies-'));
  const cleanup = async () => {
    await rm(compileDir, { recursive: true, force: true });
    await compiled.release();
  };
  try {
    const entry = fileURLToPath(compiled.url);
    // Compiled here with esbuild, kept for the process's life (its restarted workers load them again).
    const own = await Promise.all(OWN_WORKER_SOURCES.map(async (source) => [source, (await compileModule(source, compileDir)).url] as const));
    const reads = await readAllowList({ configFile: o.configFile, secrets: o.secrets, log: o.log, extra: [entry, compileDir, ...(o.natsCaFile ? [resolve(o.natsCaFile)] : [])] });
    const start: StrategiesStart = {
      configFile: resolve(o.configFile), natsUrl: o.natsUrl, compileDir, precompiled: Object.fromEntries(own), logFormat: o.logFormat, metricsPort: o.metricsPort, metricsHost: o.metricsHost,
      ...(o.group !== undefined ? { group: o.group } : {}),
      ...(o.natsCaFile ? { natsCaFile: resolve(o.natsCaFile) } : {}),
      ...(o.logColor ? { logColor: true } : {}),
      ...(o.logLevel ? { logLevel: o.logLevel } : {}),
      ...(o.hotReload === false ? { hotReload: false } : {}),
    };
    const child = spawn(process.execPath, [
      '--experimental-permission',
      // One flag per path (Node 20.20 no longer takes a comma-separated list).
      ...reads.map((p) => `--allow-fs-read=${p}`),
      // Each strategy worker reads its own thread id here to lower its CPU priority
      // (actors/thread-priority.ts). Exactly this file, as written: Node matches the path's text,
      // the kernel resolves `thread-self` to the reading thread, and no other path under
      // /proc/thread-self (its `root` link reaches every file) is allowed by it.
      `--allow-fs-read=${THREAD_STAT_FILE}`,
      `--allow-fs-write=${compileDir}`,
      // The strategies and the kill relay are worker threads; nothing else is allowed.
      '--allow-worker',
      // Package imports of compiled strategy code resolve from their importer (supervisor/transpile.ts).
      '--experimental-import-meta-resolve',
      // Node warns that --allow-worker "could invalidate the permission model": on Node 20 a
      // worker thread runs under its process's permissions (the hostile-strategy test,
      // test/e2e/cluster/strategies-permission.test.ts, tries from a worker), so the line says nothing here.
      '--disable-warning=ExperimentalWarning',
      '--disable-warning=SecurityWarning',
      entry, JSON.stringify(start),
    ], { env: childEnv(o.env ?? process.env), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let statuses = new Map<string, string>();
    let metricsUrl: string | undefined;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    // Gone, every strategy it ran is stopped, whatever it last said.
    void exited.then(() => { statuses = new Map([...statuses.keys()].map((id) => [id, 'stopped'])); });
    void exited.then(cleanup);
    const reap = () => void child.kill('SIGKILL');
    process.once('exit', reap);
    const running = new Promise<string[]>((resolveRunning, reject) => {
      void exited.then((code) => reject(new Error(`the strategies process ended while starting (exit ${code})`)));
      child.on('message', (raw: unknown) => {
        const m = ChildMessageSchema.safeParse(raw);
        if (!m.success) return void o.log.warn({ fields: m.error.issues.map((i) => i.path.join('.')) }, 'strategies process: invalid message');
        if (m.data.type === 'running') {
          metricsUrl = m.data.metricsUrl;
          return resolveRunning(m.data.strategies);
        }
        if (m.data.type === 'statuses') return void (statuses = new Map(Object.entries(m.data.statuses)));
        const { id, role } = m.data;
        const answer = (a: Omit<ParentMessage, 'type' | 'id'>) => { if (child.connected) child.send(ParentMessageSchema.parse({ type: 'credentials', id, ...a })); };
        if (!o.credentials) return answer({});
        Promise.resolve(o.credentials(role)).then((credentials) => answer({ credentials }), (e: unknown) => answer({ error: (e as Error).message }));
      });
    });
    running.catch(() => undefined);
    o.log.info({ strategiesPid: child.pid, reads }, 'strategies process started under the permission model');
    return {
      pid: child.pid!,
      running,
      exited,
      status: (id) => statuses.get(id),
      metricsUrl: () => metricsUrl,
      stop: async () => {
        process.off('exit', reap);
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const late = setTimeout(() => child.kill('SIGKILL'), 20_000);
          await exited;
          clearTimeout(late);
        }
        await cleanup();
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Time zone and locale only: no venue key, no NATS password, no NODE_OPTIONS of the launcher's. */
function childEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(['TZ', 'LANG', 'LC_ALL', 'NO_COLOR'].flatMap((k) => (env[k] !== undefined ? [[k, env[k]!]] : [])));
}

/**
 * What the strategies process may read: the repository's folders and files (not its dot-entries:
 * .env, .orch, .git), node_modules where it really lies, the registry's folder, each strategy
 * module's folder and the node_modules folders above it, and `extra`. None may hold a secret: a registry folder that does is narrowed
 * to the registry file (no hot-reload watch then), any other refuses the start with its name.
 */
export async function readAllowList(o: { configFile: string; secrets: readonly string[]; extra: readonly string[]; log: Logger }): Promise<string[]> {
  const code = (await readdir(repoRoot)).filter((n) => !n.startsWith('.')).map((n) => join(repoRoot, n));
  const modules = await registryModuleDirs(o.configFile);
  const secrets = (await Promise.all(o.secrets.map(async (s) => [resolve(s), await realpath(s).catch(() => resolve(s))]))).flat();
  const holds = (dir: string) => secrets.find((s) => s === dir || s.startsWith(dir + sep) || dir.startsWith(s + sep));
  const allowed: string[] = [];
  const add = async (path: string, what: string) => {
    for (const p of new Set([resolve(path), await realpath(path).catch(() => resolve(path))])) {
      const secret = holds(p);
      if (secret) throw new SecretInReachError(`the strategies process would read ${p} (${what}), which holds ${secret}: move the secret or the code elsewhere`);
      allowed.push(p);
    }
  };
  for (const p of code) await add(p, 'the code');
  const registry = resolve(o.configFile);
  if (holds(dirname(registry))) {
    o.log.warn({ registry, secret: holds(dirname(registry)) }, 'the registry\'s folder holds a secret: the strategies process reads the registry file only and does not watch it (apply changes with orch reload)');
    await add(registry, 'the registry');
  } else await add(dirname(registry), 'the registry\'s folder');
  for (const [id, dir] of modules) {
    await add(dir, `the module folder of strategy ${id}`);
    // Where its package imports resolve from (Node's resolver reads them under the process's permissions).
    for (const nm of await nodeModulesAbove(dir)) await add(nm, `the packages of strategy ${id}`);
  }
  for (const p of o.extra) await add(p, 'its own files');
  // Nested entries are covered by their folder.
  const unique = [...new Set(allowed)];
  return siblingPrefixesMerged(unique.filter((p) => !unique.some((q) => q !== p && p.startsWith(q + sep))), secrets);
}

/**
 * Node 20.20 denies a stat or readdir of an allowed folder when another allowed path extends its
 * name (`/x/strategies` beside `/x/strategies.yaml`: the files inside stay readable, the folder
 * itself does not, and TypeScript's module resolution then misses them). Such a pair is given
 * as one wildcard, `/x/strategies*`, which Node matches correctly, unless it would reach a secret.
 */
function siblingPrefixesMerged(paths: string[], secrets: readonly string[]): string[] {
  const out = [...paths];
  for (const q of paths) {
    const longer = out.filter((p) => p !== q && p.startsWith(q) && !p.startsWith(q + sep));
    if (longer.length === 0) continue;
    const secret = secrets.find((s) => s.startsWith(q));
    if (secret) throw new SecretInReachError(`the strategies process would read ${q} and ${longer[0]}, which Node 20 can allow together only as ${q}*, and that holds ${secret}: rename one`);
    for (const p of [q, ...longer]) out.splice(out.indexOf(p), 1);
    out.push(`${q}*`);
  }
  return out;
}

/** Every node_modules folder from `dir` up to the root, as Node's resolver looks for packages. */
async function nodeModulesAbove(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    const nm = join(d, 'node_modules');
    if (await stat(nm).then((st) => st.isDirectory(), () => false)) found.push(nm);
    if (dirname(d) === d) return found;
  }
}

/** Each strategy's module folder as the registry names it now; a registry that does not parse is the strategies process's to report. */
async function registryModuleDirs(configFile: string): Promise<[string, string][]> {
  try {
    const doc = parseYaml(await readFile(configFile, 'utf8')) as { strategies?: { id?: unknown; module?: unknown }[] } | null;
    return (doc?.strategies ?? []).flatMap((s) => (typeof s.module === 'string' ? [[String(s.id), dirname(resolve(dirname(configFile), s.module))] as [string, string]] : []));
  } catch {
    return [];
  }
}
