import { readFileSync, statSync } from 'node:fs';
import { registerSecret } from '../actors/logger.ts';
import { isSecretEnvName } from '../config/secret-names.ts';
import { SupervisorError } from './errors.ts';

/**
 * Secrets come from the environment or a `.env` file that only its owner can read. A `.env`
 * readable by group or others is refused before anything starts.
 */
export class SecretsFileError extends SupervisorError {
  override readonly name = 'SecretsFileError';
  constructor(message: string) {
    super('secrets_file', message);
  }
}

export function loadDotEnv(path: string, env: NodeJS.ProcessEnv = process.env): string[] {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return [];
  }
  if ((mode & 0o077) !== 0) {
    throw new SecretsFileError(
      `${path} is readable by other users (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
    );
  }
  const loaded: string[] = [];
  for (const [i, raw] of readFileSync(path, 'utf8').split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    // The message names the line, never its content: the content is a secret.
    if (!m) throw new SecretsFileError(`${path}:${i + 1}: expected KEY=VALUE`);
    const key = m[1]!;
    let value = m[2]!;
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) value = value.slice(1, -1);
    // The real environment wins over the file.
    if (env[key] === undefined) {
      env[key] = value;
      loaded.push(key);
    }
  }
  return loaded;
}

/**
 * Takes the secrets out of `env` (process.env): returns a copy of the whole environment for
 * this process's own start-up to read, deletes every secret from `env`, and registers each
 * value with the log's redaction. Code that runs later, a strategy's module in this thread or
 * a worker, finds no secret in process.env; a worker gets only what its registry entry names.
 */
export function takeSecrets(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy: NodeJS.ProcessEnv = { ...env };
  for (const name of Object.keys(env)) {
    if (!isSecretEnvName(name)) continue;
    registerSecret(env[name]);
    delete env[name];
  }
  return copy;
}
