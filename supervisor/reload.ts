import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { typecheckModules, type TypeCheckResult } from './typecheck.ts';
import { compileModule, compiledDir, mayNotSpawn } from './worker-code.ts';
import { compiledWorkerExecArgv } from './worker-exec-argv.ts';
import type { Clock, TimerHandle } from '../actors/clock.ts';
import { metrics } from '../actors/metrics.ts';
import { deepFreeze, lineOf, parseConfigText } from './config.ts';
import type { ReloadError, ReloadResult } from './ops-schemas.ts';
import { unknownInstrument, type InstrumentLookup } from './instrument-check.ts';
import type { LoadedConfig, StrategySpec } from '../config/registry.ts';

/**
 * Hot reload of the strategy registry. A new file is validated in a throw-away worker (fresh
 * module cache, so a changed module is really re-imported); only then is the running set
 * changed, and only for the strategies whose entry or code differs. A file that does not
 * validate changes nothing.
 */
export type ProbeOutcome = { ok: true; config: LoadedConfig } | { ok: false; error: ReloadError };
export type Probe = (file: string) => Promise<ProbeOutcome>;

const probeSource = fileURLToPath(new URL('./reload-probe.ts', import.meta.url));
let probeCode: Promise<string> | undefined;

/**
 * The probe's own code (supervisor/reload-probe.ts), compiled once per process and kept, like the
 * strategy worker's (supervisor/worker-code.ts): its thread loads JavaScript and no TypeScript
 * loader, which cost a second thread and about 0.5 s of CPU at every probe (every start and reload).
 */
function compiledProbeCode(): Promise<string> {
  probeCode ??= compileModule(probeSource).then((c) => c.url);
  probeCode.catch(() => { probeCode = undefined; });
  return probeCode;
}

/** Heap for the probe's own code (zod, the config loader, esbuild's API) on top of the strategies' limits. */
const PROBE_BASE_HEAP_MB = 64;

type ProbeMessage = { loading: { index: number; module: string } } | ProbeOutcome;

/**
 * Loads and validates the registry in a short-lived worker thread, under a deadline (real
 * time: it bounds a thread's work) and a heap limit: the sum of the registry's
 * `resources.maxOldGenerationSizeMb`, what the strategies may use once running, plus the
 * probe's own. A module that loops or allocates without end while loading is refused by name.
 */
export function probeInWorker(o: { timeoutMs?: number } = {}): Probe {
  const timeoutMs = o.timeoutMs ?? 30_000;
  return async (file) => {
    const shape = await registryShape(file);
    const heapMb = shape.heapMb + PROBE_BASE_HEAP_MB;
    const entry = new URL(await compiledProbeCode());
    const execArgv = compiledWorkerExecArgv();
    return new Promise<ProbeOutcome>((resolvePromise) => {
      // Strategy modules run their top-level code here: the probe gets no environment either (actor-host.ts workerEnv).
      // A process that may not start esbuild (the strategies process, supervisor/strategies-process.ts)
      // compiles the modules with TypeScript into the one folder it may write.
      const compileDir = mayNotSpawn() ? compiledDir() : null;
      const worker = new Worker(entry, { workerData: { file, ...(compileDir ? { compileDir } : {}) }, stdout: true, stderr: true, env: {}, resourceLimits: { maxOldGenerationSizeMb: heapMb }, ...(execArgv ? { execArgv } : {}) });
      // A module's own output while loading is not ours to print.
      worker.stdout.resume();
      worker.stderr.resume();
      let settled = false;
      let loading: { index: number; module: string } | undefined;
      const done = (outcome: ProbeOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        void worker.terminate();
        resolvePromise(outcome);
      };
      /** The failure, pinned on the module being loaded when it happened (if any). */
      const failed = (what: string): ProbeOutcome => {
        if (!loading) return { ok: false, error: { file, field: '(probe)', message: `${file}: ${what}` } };
        const field = `strategies[${loading.index}].module`;
        const line = shape.moduleLine(loading.index);
        return { ok: false, error: { file, ...(line !== undefined ? { line } : {}), field, message: `${file}${line !== undefined ? `:${line}` : ''}: ${field}: ${loading.module}: ${what}` } };
      };
      const timer = setTimeout(() => done(failed(`loading took longer than ${timeoutMs} ms (a loop while loading?); not loaded`)), timeoutMs);
      worker.on('message', (m: ProbeMessage) => {
        if ('loading' in m) loading = m.loading;
        else done(m);
      });
      worker.once('error', (e: Error & { code?: string }) => done(failed(e.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? `loading needs more than the registry's memory limit (${heapMb} MB heap: the strategies' resources.maxOldGenerationSizeMb plus ${PROBE_BASE_HEAP_MB}); not loaded`
        : e.message)));
      worker.once('exit', (code) => done(failed(`probe worker exited with ${code}`)));
    });
  };
}

/** What the probe needs before it starts: the heap the registry allows and where each module line is. */
async function registryShape(file: string): Promise<{ heapMb: number; moduleLine: (i: number) => number | undefined }> {
  try {
    const { config, doc, counter } = parseConfigText(await readFile(file, 'utf8'), file);
    const heapMb = config.strategies.reduce((sum, s) => sum + s.resources.maxOldGenerationSizeMb, 0);
    return { heapMb, moduleLine: (i) => lineOf(doc, counter, ['strategies', i, 'module']) };
  } catch {
    // The probe itself reports an unreadable or invalid file, with its line and field.
    return { heapMb: 0, moduleLine: () => undefined };
  }
}

const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

/** The module and every file it reaches through relative imports: what "its code" means. */
export async function moduleFiles(entry: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const todo = [resolve(entry)];
  while (todo.length) {
    const file = todo.pop()!;
    if (out.has(file) || file.includes('/node_modules/')) continue;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      out.set(file, '(missing)');
      continue;
    }
    out.set(file, text);
    for (const m of text.matchAll(RELATIVE_IMPORT)) todo.push(resolve(dirname(file), m[1]!));
  }
  return out;
}

async function fingerprintsOf(specs: readonly StrategySpec[]): Promise<{ code: Map<string, string>; files: string[] }> {
  const code = new Map<string, string>();
  const files = new Set<string>();
  for (const m of new Set(specs.map((s) => s.module))) {
    const fp = await codeFingerprint(m);
    code.set(m, fp.hash);
    for (const f of fp.files) files.add(f);
  }
  return { code, files: [...files] };
}

/** The registry's text and the strategies' code as they were before the strategies started. */
export type StartingPoint = { registryText: string | undefined; code: Map<string, string>; files: string[] };

/**
 * Read before the strategies start: `Reloader.init(point)` then compares the files with what
 * the strategies were started from, so an edit made while they started (seconds) is reloaded,
 * not missed by a watch that began after it.
 */
export async function startingPoint(config: LoadedConfig): Promise<StartingPoint> {
  const registryText = await readFile(config.file, 'utf8').catch(() => undefined);
  return { registryText, ...(await fingerprintsOf(config.strategies)) };
}

export async function codeFingerprint(entry: string): Promise<{ hash: string; files: string[] }> {
  const files = await moduleFiles(entry);
  const h = createHash('sha256');
  for (const f of [...files.keys()].sort()) h.update(f).update('\0').update(files.get(f)!).update('\0');
  return { hash: h.digest('hex'), files: [...files.keys()] };
}

export type ReloadPlan = { start: StrategySpec[]; stop: StrategySpec[]; restart: StrategySpec[]; unchanged: string[] };

/** Pure: what to do to go from the running registry to the new one. Disabled counts as absent. */
export function planReload(
  running: readonly StrategySpec[],
  next: readonly StrategySpec[],
  codeBefore: ReadonlyMap<string, string>,
  codeAfter: ReadonlyMap<string, string>,
): ReloadPlan {
  const before = new Map(running.filter((s) => s.enabled).map((s) => [s.id, s]));
  const after = new Map(next.filter((s) => s.enabled).map((s) => [s.id, s]));
  const plan: ReloadPlan = { start: [], stop: [], restart: [], unchanged: [] };
  for (const [id, old] of before) if (!after.has(id)) plan.stop.push(old);
  for (const [id, spec] of after) {
    const old = before.get(id);
    if (!old) plan.start.push(spec);
    else if (JSON.stringify(old) !== JSON.stringify(spec) || codeBefore.get(spec.module) !== codeAfter.get(spec.module)) plan.restart.push(spec);
    else plan.unchanged.push(id);
  }
  return plan;
}

/** What reload needs from the supervisor and the broker (the real ones in production). */
export type ReloadTargets = {
  supervisor: { startChild(spec: StrategySpec): Promise<void>; stopChild(id: string): Promise<void>; removeChild(id: string): Promise<void> };
  broker: { setStrategies(specs: readonly StrategySpec[]): void; syncInstruments(): Promise<void>; cancelAll(strategyId?: string): Promise<number> };
};

export type ReloaderOptions = ReloadTargets & {
  config: LoadedConfig;
  clock: Clock;
  log: Logger;
  probe?: Probe;
  /** Quiet time after the last file event before a reload starts (editors write in bursts). */
  debounceMs?: number;
  /**
   * The venues this process trades on. A venue's connection, limits and reconciliation start
   * with the process, so a registry naming another one is refused (it needs a restart).
   */
  venues?: ReadonlySet<string>;
  /** Whether a venue lists an instrument; an unknown one refuses the reload with its line. */
  knows?: InstrumentLookup;
  /**
   * Type-checks the modules of strategies about to (re)start: tsx strips types without checking,
   * so without this a module with type errors would run. Default: the TypeScript compiler in a
   * worker, 30 s deadline (supervisor/typecheck.ts).
   */
  typecheck?: (files: readonly string[]) => Promise<TypeCheckResult>;
  /** Told about every applied registry (e.g. to refresh per-strategy limits elsewhere). */
  onApplied?: (config: LoadedConfig, previous: LoadedConfig) => void;
};

export class Reloader {
  private config: LoadedConfig;
  private code = new Map<string, string>();
  private readonly watchers = new Map<string, FSWatcher>();
  /** Per watched directory, the file names in it that matter. */
  private readonly watched = new Map<string, Set<string>>();
  private timer: TimerHandle | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private last: ReloadResult | undefined;
  private readonly probe: Probe;

  constructor(private readonly opts: ReloaderOptions) {
    this.config = opts.config;
    this.probe = opts.probe ?? probeInWorker();
  }

  current(): LoadedConfig {
    return this.config;
  }

  lastResult(): ReloadResult | undefined {
    return this.last;
  }

  /** Fingerprints the code the strategies were started from (`startingPoint`, read before they started), or now. */
  async init(point?: StartingPoint): Promise<void> {
    const p = point ?? (await startingPoint(this.config));
    this.registryText = p.registryText;
    this.code = p.code;
    this.watchSet = p.files;
  }

  private watchSet: string[] = [];
  /** The registry as the strategies were started from: an edit before the watch starts is found by comparing. */
  private registryText: string | undefined;

  /**
   * Starts watching the registry file and every strategy module file it reaches. An edit made
   * since the starting point reached no watcher (a start takes seconds: the strategies are
   * launched in between), so the files are compared once more and a difference reloads.
   */
  watch(): void {
    this.rewatch([this.config.file, ...this.watchSet]);
    void this.changedSinceInit().then((changed) => {
      if (!changed) return;
      this.opts.log.info('registry or strategy code changed while starting: reloading');
      this.schedule();
    }, (err: unknown) => this.opts.log.warn({ err }, 'could not compare the files with the start'));
  }

  private async changedSinceInit(): Promise<boolean> {
    const text = await readFile(this.config.file, 'utf8').catch(() => undefined);
    if (text !== this.registryText) return true;
    const { code } = await this.fingerprints(this.config.strategies);
    return [...code].some(([m, hash]) => this.code.get(m) !== hash);
  }

  /** Validates the file and applies the difference; concurrent calls run one after another. */
  reload(trigger: ReloadResult['trigger'] = 'request'): Promise<ReloadResult> {
    const run = this.chain.then(() => this.reloadNow(trigger));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.opts.clock.clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.chain;
  }

  /** The first instrument of an enabled strategy its venue does not list, as a refusal naming its line. */
  private async unknownInstrument(next: LoadedConfig): Promise<ReloadError | undefined> {
    if (!this.opts.knows) return undefined;
    const e = await unknownInstrument(next, this.opts.knows);
    return e ? { file: e.file, ...(e.line !== undefined ? { line: e.line } : {}), field: e.field, message: e.message } : undefined;
  }

  /** The first enabled strategy on a venue this process has not started, as a refusal naming its line. */
  private async venueNotRunning(next: LoadedConfig): Promise<ReloadError | undefined> {
    const venues = this.opts.venues;
    if (!venues) return undefined;
    const i = next.strategies.findIndex((s) => s.enabled && !venues.has(s.venue));
    if (i < 0) return undefined;
    const s = next.strategies[i]!;
    let line: number | undefined;
    try {
      const { doc, counter } = parseConfigText(await readFile(next.file, 'utf8'), next.file);
      line = lineOf(doc, counter, ['strategies', i, 'venue']);
    } catch {
      line = undefined; // the probe already accepted the file; a line is a courtesy
    }
    const field = `strategies[${i}].venue`;
    const message = `${s.id}: venue ${s.venue} is not running in this process (running: ${[...venues].join(', ')}); adding the first ${s.venue} strategy needs a restart${s.venue === 'kalshi' ? ' (with KALSHI_* credentials set, Kalshi runs from the start and this reload would apply)' : ''}`;
    return { file: next.file, ...(line !== undefined ? { line } : {}), field, message };
  }

  /** The first type error in the modules of `specs`, as a refusal naming the module's file and line. */
  private async typeErrors(next: LoadedConfig, specs: readonly StrategySpec[]): Promise<ReloadError | undefined> {
    const modules = [...new Set(specs.map((s) => s.module))];
    if (modules.length === 0) return undefined;
    const r = await (this.opts.typecheck ?? typecheckModules)(modules);
    if (r.ok === true) return undefined;
    if (r.ok === 'unchecked') {
      // No compiler (a production image without dev dependencies) or past the deadline: the
      // load probe still ran; say so rather than block every reload.
      this.opts.log.warn({ modules, reason: r.reason }, 'strategy modules not type-checked');
      return undefined;
    }
    const first = r.diagnostics[0]!;
    const i = next.strategies.findIndex((s) => specs.includes(s) && (first.file === s.module || modules.length === 1));
    const field = `strategies[${Math.max(0, i)}].module`;
    const more = r.diagnostics.length > 1 ? ` (and ${r.diagnostics.length - 1} more: ${r.diagnostics.slice(1, 4).map((d) => `${d.file ?? '?'}:${d.line ?? '?'}: ${d.message}`).join('; ')})` : '';
    return {
      file: first.file ?? modules[0]!, ...(first.line !== undefined ? { line: first.line } : {}), field,
      message: `${first.file ?? modules[0]}:${first.line ?? '?'}: ${first.message}${more}`,
    };
  }

  private async reloadNow(trigger: ReloadResult['trigger']): Promise<ReloadResult> {
    const { log, clock } = this.opts;
    const base = { trigger, started: [], stopped: [], restarted: [], unchanged: [], cancelledOrders: 0 };
    // An edit landing after the probe reaches the watch and triggers another reload.
    const probed = await this.probe(this.config.file);
    if (!probed.ok) {
      metrics.configReloadTotal.inc({ result: 'invalid' });
      const e = probed.error;
      log.error({ file: e.file, line: e.line, field: e.field, error: e.message }, 'registry refused: running strategies unchanged');
      return this.remember({ ...base, result: 'invalid', unchanged: this.config.strategies.filter((s) => s.enabled).map((s) => s.id), error: e, ts: clock.now() });
    }
    const missing = (await this.venueNotRunning(probed.config)) ?? (await this.unknownInstrument(probed.config));
    if (missing) {
      metrics.configReloadTotal.inc({ result: 'invalid' });
      log.error({ file: missing.file, line: missing.line, field: missing.field, error: missing.message }, 'registry refused: running strategies unchanged');
      return this.remember({ ...base, result: 'invalid', unchanged: this.config.strategies.filter((s) => s.enabled).map((s) => s.id), error: missing, ts: clock.now() });
    }
    const next = deepFreeze(probed.config);
    const { code, files } = await this.fingerprints(next.strategies);
    const plan = planReload(this.config.strategies, next.strategies, this.code, code);
    if (!this.closed) this.rewatch([next.file, ...files]);
    const summary = {
      ...base,
      started: plan.start.map((s) => s.id), stopped: plan.stop.map((s) => s.id), restarted: plan.restart.map((s) => s.id), unchanged: plan.unchanged,
    };
    const typeError = await this.typeErrors(next, [...plan.start, ...plan.restart]);
    if (typeError) {
      metrics.configReloadTotal.inc({ result: 'invalid' });
      log.error({ file: typeError.file, line: typeError.line, field: typeError.field, error: typeError.message }, 'strategy module refused (type errors): running strategies unchanged');
      return this.remember({ ...base, result: 'invalid', unchanged: this.config.strategies.filter((s) => s.enabled).map((s) => s.id), error: typeError, ts: clock.now() });
    }
    if (!plan.start.length && !plan.stop.length && !plan.restart.length) {
      this.config = next;
      this.code = code;
      this.opts.broker.setStrategies(next.strategies.filter((s) => s.enabled));
      metrics.configReloadTotal.inc({ result: 'unchanged' });
      log.info({ trigger }, 'registry reloaded: no strategy changed');
      return this.remember({ ...summary, result: 'unchanged', ts: clock.now() });
    }
    try {
      const cancelled = await this.apply(next, plan);
      const previous = this.config;
      this.config = next;
      this.code = code;
      metrics.configReloadTotal.inc({ result: 'applied' });
      log.info({ trigger, started: summary.started, stopped: summary.stopped, restarted: summary.restarted, cancelledOrders: cancelled }, 'registry reloaded');
      this.opts.onApplied?.(next, previous);
      return this.remember({ ...summary, result: 'applied', cancelledOrders: cancelled, ts: clock.now() });
    } catch (err) {
      metrics.configReloadTotal.inc({ result: 'failed' });
      log.error({ err }, 'registry reload failed while applying');
      return this.remember({ ...summary, result: 'failed', error: { file: this.config.file, field: '(apply)', message: (err as Error).message }, ts: clock.now() });
    }
  }

  /**
   * The broker learns the new set first, so a removed strategy's intents are refused before its
   * orders are cancelled. Instruments are subscribed last, once the new strategies listen: a
   * venue sends its snapshot of a market when it is subscribed, and on a quiet market (a Kalshi
   * book that does not move) that snapshot is the only tick a new strategy would get for a while.
   */
  private async apply(next: LoadedConfig, plan: ReloadPlan): Promise<number> {
    const { supervisor, broker, log } = this.opts;
    // Disabled entries are left out, so a strategy being disabled has its intents refused too.
    broker.setStrategies(next.strategies.filter((s) => s.enabled));
    let cancelled = 0;
    for (const s of plan.stop) {
      if (s.onRemove === 'cancel-orders') {
        const n = await broker.cancelAll(s.id);
        cancelled += n;
        log.info({ strategy: s.id, cancelled: n }, 'removed strategy: open orders cancelled');
      }
      await supervisor.removeChild(s.id);
    }
    // A fresh worker per restarted strategy: a fresh module cache, so the new code runs.
    for (const s of plan.restart) {
      await supervisor.stopChild(s.id);
      await supervisor.startChild(s);
    }
    for (const s of plan.start) await supervisor.startChild(s);
    await broker.syncInstruments();
    return cancelled;
  }

  private remember(r: ReloadResult): ReloadResult {
    this.last = r;
    return r;
  }

  private fingerprints(specs: readonly StrategySpec[]): Promise<{ code: Map<string, string>; files: string[] }> {
    return fingerprintsOf(specs);
  }

  /** Watches directories, not files: editors replace a file on save, which ends a file watch. */
  private rewatch(files: readonly string[]): void {
    if (this.closed) return;
    this.watched.clear();
    for (const f of files) {
      const dir = dirname(f);
      let names = this.watched.get(dir);
      if (!names) this.watched.set(dir, (names = new Set()));
      names.add(basename(f));
    }
    for (const [dir, w] of this.watchers) {
      if (!this.watched.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of this.watched.keys()) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = fsWatch(dir, { persistent: false }, (_event, name) => {
          if (name === null || this.watched.get(dir)?.has(name.toString())) this.schedule();
        });
        w.on('error', (err) => this.opts.log.warn({ err, dir }, 'file watch failed'));
        this.watchers.set(dir, w);
      } catch (err) {
        this.opts.log.warn({ err, dir }, 'cannot watch directory');
      }
    }
  }

  private schedule(): void {
    if (this.closed) return;
    const { clock } = this.opts;
    clock.clearTimeout(this.timer);
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      void this.reload('watch');
    }, this.opts.debounceMs ?? 300);
  }
}
