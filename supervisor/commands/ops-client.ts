import { parseArgs } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import { describeZodError } from '../../actors/messages.ts';
import { subjects } from '../../actors/subjects.ts';
import { StrategiesReplySchema } from '../ops-schemas.ts';
import { SupervisorError } from '../errors.ts';

/** Asking the running orchestrator's services for status, with errors an operator can act on. */
export class NotAnswering extends SupervisorError {
  override readonly name = 'NotAnswering';
  constructor(message: string) {
    super('not_answering', message);
  }
}

/**
 * Every answer to one request within `timeoutMs`, for a service that runs on several hosts (each
 * supervisor answers: supervisor/services.ts); done once no further answer came for `stallMs`.
 * Rejects like `ask` when none answered; answers of the wrong shape are skipped.
 */
export async function askAll<S extends z.ZodType>(nc: NatsConnection, who: string, subject: string, schema: S, timeoutMs: number, stallMs = 500): Promise<z.output<S>[]> {
  const out: z.output<S>[] = [];
  try {
    const replies = await nc.requestMany(subject, '', { maxWait: timeoutMs, strategy: 'stall', stall: stallMs });
    for await (const msg of replies) {
      if (msg.data.length === 0 || msg.headers?.get('Nats-Service-Error')) continue;
      const r = schema.safeParse(safeJson(msg));
      if (r.success) out.push(r.data);
    }
  } catch {
    // Reported below as no answer.
  }
  if (out.length === 0) throw new NotAnswering(`the ${who} is not answering on ${subject} (no answer within ${timeoutMs} ms); is \`orch start\` running against this NATS server?`);
  return out;
}

function safeJson(msg: { json(): unknown }): unknown {
  try {
    return msg.json();
  } catch {
    return undefined;
  }
}

export async function ask<S extends z.ZodType>(nc: NatsConnection, who: string, subject: string, schema: S, timeoutMs: number): Promise<z.output<S>> {
  let msg;
  try {
    msg = await nc.request(subject, '', { timeout: timeoutMs });
  } catch (e) {
    const m = (e as Error).message;
    const why = /no responders|503/i.test(m) ? 'nothing is listening' : /timeout/i.test(m) ? `no answer within ${timeoutMs} ms` : m;
    throw new NotAnswering(`the ${who} is not answering on ${subject} (${why}); is \`orch start\` running against this NATS server?`);
  }
  const err = msg.headers?.get('Nats-Service-Error');
  if (err) throw new NotAnswering(`the ${who} answered with an error: ${err}`);
  let json: unknown;
  try {
    json = msg.json();
  } catch {
    throw new NotAnswering(`the ${who} answered on ${subject} with something that is not JSON`);
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new NotAnswering(`the ${who} answered on ${subject} in an unexpected shape: ${describeZodError(r.error)}`);
  return r.data;
}

/**
 * The strategy ids of the running registry (the supervisor's `strategies` endpoint), or
 * undefined when no supervisor answers within `timeoutMs`.
 */
export async function registryIds(nc: NatsConnection, timeoutMs: number): Promise<string[] | undefined> {
  try {
    const r = await ask(nc, 'supervisor', subjects.serviceEndpoint('supervisor', 'strategies'), StrategiesReplySchema, timeoutMs);
    return r.strategies.map((s) => s.id);
  } catch {
    return undefined;
  }
}

/** Left-aligned text columns, two spaces apart; numbers (and the columns in `right`, e.g. amounts) right-aligned. */
export function table(headers: string[], rows: (string | number)[][], right: number[] = []): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const width = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => right.includes(i) || (rows.length > 0 && rows.every((r) => typeof r[i] === 'number')));
  const line = (r: string[]) => r.map((c, i) => (numeric[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

export type Io = { out: (s: string) => void; err: (s: string) => void };
export const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export function timeoutArg(v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--timeout must be a positive number of milliseconds, got "${v}"`);
  return n;
}

/** The options every command that talks to the running system shares. */
export const OPS_OPTIONS = { json: { type: 'boolean' }, nats: { type: 'string' }, 'state-dir': { type: 'string' }, timeout: { type: 'string' } } as const;
export type OpsValues = { json?: boolean | undefined; nats?: string | undefined; 'state-dir'?: string | undefined; timeout?: string | undefined };

/** Parses the shared options; a usage error is printed with `usage` and yields undefined (exit 2). */
export function parseOpsArgs(args: string[], usage: string, io: Pick<Io, 'err'>): OpsValues | undefined {
  try {
    return parseArgs({ args, strict: true, options: OPS_OPTIONS }).values;
  } catch (e) {
    io.err(`orch: ${(e as Error).message}\n${usage}`);
    return undefined;
  }
}
