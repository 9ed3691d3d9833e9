import type { DestinationStream } from 'pino';

/**
 * Readable log lines for a terminal. pino writes one JSON object per line; this turns each into
 * `09:21:43.512 WARN  kill  kill level changed  scope=global from=0 killLevel=2 ...`.
 *
 * A small formatter of our own rather than pino-pretty: pino-pretty brings a dozen packages
 * (and, as a transport, a worker thread per logger) for what is one function here, and this one
 * knows our fields (the actor column, the summary line, errors shortened to their message).
 * JSON stays the format for everything that is not a terminal (`--log-format json`).
 */
export type LogFormat = 'json' | 'pretty';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields shown in their own column or not at all. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'actor', 'summary']);

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (v !== null && typeof v === 'object' && 'message' in v && typeof (v as { message: unknown }).message === 'string') {
    const e = v as { type?: string; message: string; code?: unknown };
    return JSON.stringify(`${e.type && e.type !== 'Error' && e.type !== 'Object' ? `${e.type}: ` : ''}${e.message}${e.code !== undefined ? ` (${String(e.code)})` : ''}`);
  }
  return JSON.stringify(v) ?? String(v);
}

const clockTime = (ms: number) => new Date(ms).toISOString().slice(11, 23);

/** One pino JSON line as one readable line (a line that is not JSON passes through unchanged). */
export function formatLogLine(line: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  if (o === null || typeof o !== 'object') return `${line.trimEnd()}\n`;
  const level = typeof o.level === 'number' ? o.level : 30;
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  const paint = (s: string, code: string | undefined) => (color && code ? `\u001b[${code}m${s}\u001b[0m` : s);
  const head = [
    typeof o.time === 'number' ? paint(clockTime(o.time), '90') : '',
    paint(name, COLORS[level]),
    typeof o.actor === 'string' ? paint(o.actor, '36') : '',
  ].filter(Boolean).join(' ');
  const rest = Object.entries(o).filter(([k]) => !HIDDEN.has(k)).map(([k, v]) => `${k}=${value(v)}`);
  const msg = typeof o.msg === 'string' ? (level >= 40 ? paint(o.msg, COLORS[level]) : o.msg) : '';
  return `${[head, msg, rest.join(' ')].filter(Boolean).join('  ')}\n`;
}

/** A pino destination that writes readable lines to `out` (process.stdout by default). */
export function prettyDestination(out: { write(s: string): unknown } = process.stdout, color = false): DestinationStream {
  return { write: (s: string) => void out.write(formatLogLine(s, color)) };
}
