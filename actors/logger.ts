import { pino, type Logger, type DestinationStream } from 'pino';

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

export function createLogger(opts: { name?: string; level?: string; destination?: DestinationStream } = {}): Logger {
  const options = {
    name: opts.name ?? 'orch',
    level: opts.level ?? process.env.ORCH_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    hooks: { streamWrite: redactSecrets },
    base: { pid: process.pid },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** One child logger per actor, carrying its id on every line. */
export function actorLogger(root: Logger, actor: string): Logger {
  return root.child({ actor });
}
