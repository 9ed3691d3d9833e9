import { readFile } from 'node:fs/promises';
import { resolve, dirname } from 'node:path';
import { z } from 'zod';
import { parseDocument, LineCounter, isNode, type Document } from 'yaml';
import { OrchestratorConfigSchema, type LoadedConfig, type OrchestratorConfig, type StrategySpec } from '../config/registry.ts';
import { importStrategyModule, type ModuleLoader, type StrategyModule } from '../actors/strategy-contract.ts';
import { SupervisorError } from './errors.ts';

export class ConfigError extends SupervisorError {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly field: string,
    detail: string,
  ) {
    super('config_invalid', `${file}${line ? `:${line}` : ''}: ${field}: ${detail}`);
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
  return deepFreeze({ file: abs, restartIntensity: config.restartIntensity, killTriggers: config.killTriggers, flatten: config.flatten, ...(config.externalAtStart ? { externalAtStart: config.externalAtStart } : {}), ...(config.recording ? { recording: config.recording } : {}), strategies });
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}
