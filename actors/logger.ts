import { pino, type Logger, type DestinationStream } from 'pino';
import { prettyDestination, type LogFormat } from './log-format.ts';

/**
 * Paths pino blanks in every line. Secrets also never go into messages: code that handles
 * them logs ids, never values.
 */
export const REDACT_PATHS = [
  'password', '*.password', 'api_secret', '*.api_secret', 'apiSecret', '*.apiSecret',
  'access_token', '*.access_token', 'accessToken', '*.accessToken', 'request_token', '*.request_token',
  'totp', '*.totp', 'totpSecret', '*.totpSecret', 'privateKey', '*.privateKey', 'privateKeyPem', '*.privateKeyPem',
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'token', '*.token', 'secret', '*.secret', 'checksum', '*.checksum', 'enctoken', '*.enctoken',
  'refresh_token', '*.refresh_token', 'public_token', '*.public_token',
  'KALSHI-ACCESS-SIGNATURE', '*["KALSHI-ACCESS-SIGNATURE"]',
];

export type { Logger };

/**
 * Redaction by value: every secret this thread loaded (venue credentials, NATS passwords,
 * tokens) is blanked wherever it appears in a line, in a message string, an error or a field
 * of any name. The paths above only catch fields with the right name.
 */
const CENSOR = '[redacted]';
/** Shorter values would blank ordinary words and numbers; real secrets are longer. */
const MIN_SECRET_CHARS = 6;
const secretForms = new Set<string>();

/** Blanks `value` in every later log line of this thread (each worker thread keeps its own). */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < MIN_SECRET_CHARS) return;
  // As written in a JSON line (quotes, backslashes, newlines escaped) and as is (pretty printers).
  for (const form of [JSON.stringify(value).slice(1, -1), value]) secretForms.add(form);
  // A PEM's lines one by one: an error quoting part of the key leaks only a line.
  for (const line of value.split(/\\n|\n/)) if (line.trim().length >= 16 && !/^-----/.test(line.trim())) secretForms.add(line.trim());
}

/** `line` with every registered secret blanked. */
export function redactSecrets(line: string): string {
  let out = line;
  for (const form of secretForms) if (out.includes(form)) out = out.split(form).join(CENSOR);
  return out;
}


export type { LogFormat };

/**
 * The process's root logger: pino JSON lines, or readable lines (`format: 'pretty'`, for a
 * terminal) written to `destination` or stdout.
 */
export function createLogger(opts: { name?: string; level?: string; destination?: DestinationStream; format?: LogFormat; color?: boolean } = {}): Logger {
  const options = {
    name: opts.name ?? 'orch',
    level: opts.level ?? process.env.ORCH_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    hooks: { streamWrite: redactSecrets },
    base: { pid: process.pid },
  };
  if (opts.format === 'pretty') return pino(options, prettyDestination(opts.destination ?? process.stdout, opts.color ?? false));
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/**
 * One child logger per actor, carrying its id on every line. pino never replaces a binding (a
 * child's `actor` is written after its parent's, and JSON.parse keeps the last), so when `parent`
 * already belongs to an actor, the new logger is made from the nearest ancestor without one,
 * keeping the parent's other bindings. A child logger's prototype is its parent (pino's `child`).
 */
export function actorLogger(parent: Logger, actor: string): Logger {
  const own = parent.bindings();
  if (!('actor' in own)) return parent.child({ actor });
  let base: Logger = parent;
  while ('actor' in base.bindings()) base = Object.getPrototypeOf(base) as Logger;
  const inherited = base.bindings();
  const extra = Object.fromEntries(Object.entries(own).filter(([k]) => k !== 'actor' && !(k in inherited)));
  return base.child({ ...extra, actor });
}
