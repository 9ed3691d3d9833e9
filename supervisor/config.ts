import { readFile } from 'node:fs/promises';
import { resolve, dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { parseDocument, LineCounter, isNode, type Document } from 'yaml';
import { VenueSchema } from '../actors/messages.ts';
import { RiskLimitsSchema, KillTriggersSchema, MarketProtectionSchema, AUTO_MARKET_PROTECTION } from '../broker/risk/limits.ts';
import { FlattenSettingsSchema } from '../broker/kill/flatten.ts';
import { TICK_MODES } from '../broker/instruments.ts';
import type { StrategyModule } from '../strategies/sdk.ts';
import { isSecretEnvName } from './secrets.ts';

/** The registry of strategies, `config/strategies.yaml`. Validated completely before anything starts. */
const RestartIntensitySchema = z.strictObject({
  maxRestarts: z.number().int().nonnegative(),
  withinSeconds: z.number().positive(),
});

const ResourceLimitsSchema = z.strictObject({
  maxOldGenerationSizeMb: z.number().int().positive().default(128),
  maxYoungGenerationSizeMb: z.number().int().positive().optional(),
  stackSizeMb: z.number().positive().optional(),
});

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The environment of the strategy's worker thread, and all of it: a list of names copied from
 * the supervisor's environment at launch, or a map of names to values. Nothing else reaches the
 * worker (no venue secret, no NATS password); absent = an empty environment.
 */
export const StrategyEnvSchema = z.union([z.array(z.string()).max(64), z.record(z.string(), z.string().max(4_096))]).superRefine((env, ctx) => {
  const names = Array.isArray(env) ? env.map((n, i) => [n, i] as const) : Object.keys(env).map((n) => [n, n] as const);
  for (const [n, at] of names) {
    if (!ENV_NAME.test(n)) ctx.addIssue({ code: 'custom', path: [at], message: `${JSON.stringify(n)} is not an environment variable name (letters, digits, _)` });
    else if (isSecretEnvName(n)) ctx.addIssue({ code: 'custom', path: [at], message: `${n} is a secret of the broker or a NATS user; a strategy never gets it` });
  }
});
export type StrategyEnv = z.infer<typeof StrategyEnvSchema>;

/**
 * The supervisor's health check of a running actor, over comlink: every `intervalSeconds` it
 * asks; an answer later than `timeoutSeconds` is a miss; `maxMissed` misses in a row and the
 * worker is terminated and counted as a crash (a CPU loop answers nothing). `startSeconds`
 * bounds a start (loading the module, the broker's positions), past it the same.
 */
export const HealthCheckSchema = z.strictObject({
  intervalSeconds: z.number().positive().default(5),
  timeoutSeconds: z.number().positive().default(5),
  maxMissed: z.number().int().positive().default(3),
  startSeconds: z.number().positive().default(60),
});
export type HealthCheck = z.infer<typeof HealthCheckSchema>;
export const DEFAULT_HEALTH_CHECK: HealthCheck = Object.freeze(HealthCheckSchema.parse({}));

export const StrategyEntrySchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'id: 1-40 letters, digits, _ or -'),
  /** Path of the strategy module, relative to the YAML file. */
  module: z.string().min(1),
  venue: VenueSchema,
  instruments: z.array(z.string().min(1)).min(1),
  /** Market data this strategy needs (Kite: ltp, quote or full with depth); default quote. */
  tickMode: z.enum(TICK_MODES).optional(),
  params: z.record(z.string(), z.unknown()).default({}),
  risk: RiskLimitsSchema,
  /** Kite: the `market_protection` every MARKET order of this strategy carries (-1 = Kite's automatic band). */
  marketProtection: MarketProtectionSchema.default(AUTO_MARKET_PROTECTION),
  killTriggers: KillTriggersSchema.optional(),
  resources: ResourceLimitsSchema.default({ maxOldGenerationSizeMb: 128 }),
  restart: RestartIntensitySchema.optional(),
  health: HealthCheckSchema.default(DEFAULT_HEALTH_CHECK),
  /** What happens to the strategy's open orders when it is removed from the file. */
  onRemove: z.enum(['cancel-orders', 'leave-orders']).default('cancel-orders'),
  enabled: z.boolean().default(true),
  env: StrategyEnvSchema.optional(),
});

export const OrchestratorConfigSchema = z.strictObject({
  restartIntensity: RestartIntensitySchema.default({ maxRestarts: 3, withinSeconds: 60 }),
  killTriggers: KillTriggersSchema.optional(),
  /**
   * A net position at start that neither the log nor the venue's own fills explain (manual
   * trades, earlier days): `kill` reports it and raises kill level 2 until an operator accepts it
   * (`orch reconcile --accept-external`); `baseline` records it as positions outside the
   * strategies. Default: `kill` on a live account, `baseline` on the built-in exchanges.
   */
  externalAtStart: z.enum(['kill', 'baseline']).optional(),
  /** How a flatten (kill level 4, `orch flatten`) closes positions and follows them to zero. */
  flatten: FlattenSettingsSchema.default(FlattenSettingsSchema.parse({})),
  strategies: z.array(StrategyEntrySchema).superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((s, i) => {
      const prev = seen.get(s.id);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate strategy id "${s.id}" (also entry ${prev})` });
      seen.set(s.id, i);
    });
  }),
});

export type StrategyEntry = z.infer<typeof StrategyEntrySchema>;
export type OrchestratorConfig = z.infer<typeof OrchestratorConfigSchema>;

/** A resolved entry: module as absolute path, params validated by the strategy's own schema. */
export type StrategySpec = Omit<StrategyEntry, 'module'> & { module: string; restart: z.infer<typeof RestartIntensitySchema> };
export type LoadedConfig = {
  file: string;
  restartIntensity: OrchestratorConfig['restartIntensity'];
  killTriggers: OrchestratorConfig['killTriggers'];
  externalAtStart?: OrchestratorConfig['externalAtStart'];
  flatten?: OrchestratorConfig['flatten'];
  strategies: StrategySpec[];
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly field: string,
    detail: string,
  ) {
    super(`${file}${line ? `:${line}` : ''}: ${field}: ${detail}`);
  }
}

/** A ConfigError again from its parts as they crossed a thread (the probe's answer). */
export function configErrorFrom(e: { file: string; line?: number; field: string; message: string }): ConfigError {
  const prefix = `${e.file}${e.line ? `:${e.line}` : ''}: ${e.field}: `;
  return new ConfigError(e.file, e.line, e.field, e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message);
}

export function lineOf(doc: Document, counter: LineCounter, path: (string | number)[]): number | undefined {
  // Walk up the path until a node with a source range exists (a missing field points at its parent).
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Parses a YAML file against a schema; the first problem is a ConfigError naming the file, line and field. */
export function parseYamlWith<S extends z.ZodType>(schema: S, text: string, file: string): { value: z.output<S>; doc: Document; counter: LineCounter } {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const yamlErr = doc.errors[0];
  if (yamlErr) {
    const line = yamlErr.linePos?.[0]?.line ?? counter.linePos(yamlErr.pos[0]).line;
    throw new ConfigError(file, line, '(yaml)', yamlErr.message.split('\n')[0] ?? 'invalid YAML');
  }
  const r = schema.safeParse(doc.toJS());
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    // Point an unknown key at its own line, not its parent's.
    if (issue.code === 'unrecognized_keys' && issue.keys[0]) path.push(issue.keys[0]);
    throw new ConfigError(file, lineOf(doc, counter, path), fieldName(path), issue.message);
  }
  return { value: r.data, doc, counter };
}

export function parseConfigText(text: string, file: string): { config: OrchestratorConfig; doc: Document; counter: LineCounter } {
  const { value, doc, counter } = parseYamlWith(OrchestratorConfigSchema, text, file);
  return { config: value, doc, counter };
}

function fieldName(path: (string | number)[]): string {
  return path.length === 0 ? '(root)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
}

export type ModuleLoader = (absPath: string) => Promise<StrategyModule>;

/**
 * Imports a strategy module. Node caches modules per thread, so code that must see the file
 * as it is now (hot reload) loads it in a fresh worker instead.
 */
export const importStrategyModule: ModuleLoader = async (absPath) => {
  const mod = (await import(pathToFileURL(absPath).href)) as { default?: StrategyModule };
  const m = mod.default;
  if (!m || typeof m.create !== 'function' || !m.paramsSchema) throw new Error('module must `export default defineStrategy({ paramsSchema, create })`');
  return m;
};

/** Reads, validates and resolves the file; throws ConfigError naming file, line and field. */
export async function loadConfig(file: string, loadModule: ModuleLoader = importStrategyModule): Promise<LoadedConfig> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    throw new ConfigError(abs, undefined, '(file)', (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message);
  }
  const { config, doc, counter } = parseConfigText(text, abs);
  const strategies: StrategySpec[] = [];
  for (const [i, entry] of config.strategies.entries()) {
    const modulePath = resolve(dirname(abs), entry.module);
    let mod: StrategyModule;
    try {
      mod = await loadModule(modulePath);
    } catch (e) {
      throw new ConfigError(abs, lineOf(doc, counter, ['strategies', i, 'module']), `strategies[${i}].module`, `cannot load ${entry.module}: ${(e as Error).message}`);
    }
    const p = mod.paramsSchema.safeParse(entry.params);
    if (!p.success) {
      const issue = p.error.issues[0]!;
      const sub = issue.path.map((x) => (typeof x === 'symbol' ? String(x) : x));
      const path = ['strategies', i, 'params', ...sub];
      throw new ConfigError(abs, lineOf(doc, counter, path), fieldName(path), issue.message);
    }
    strategies.push(deepFreeze({ ...entry, module: modulePath, params: p.data as Record<string, unknown>, restart: entry.restart ?? config.restartIntensity }));
  }
  return deepFreeze({ file: abs, restartIntensity: config.restartIntensity, killTriggers: config.killTriggers, flatten: config.flatten, ...(config.externalAtStart ? { externalAtStart: config.externalAtStart } : {}), strategies });
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}
