import { userInfo } from 'node:os';
import { requestParsed } from '../../actors/bus.ts';
import { subjects } from '../../actors/subjects.ts';
import { parseArgs } from 'node:util';
import { OPS_OPTIONS } from './ops-client.ts';
import { ReconcileReplySchema, ReconcileRequestSchema } from '../../broker/reconcile/wire.ts';
import type { Difference } from '../../broker/events/schema.ts';
import { connectOperator } from './nats-cli.ts';

export type Out = { out: (s: string) => void; err: (s: string) => void };
const stdio: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/**
 * `orch reconcile [--json] [--accept-external]`: asks the running broker to reconcile every
 * venue now (a NATS request on orch.broker.reconcile) and prints what differed and what was
 * done about it. `--accept-external` records net positions no strategy explains (a manual
 * trade) as positions outside the strategies instead of a mismatch; it does not lower a kill
 * level already raised. Exit code 0 when every venue is ok or resolved, 3 on a mismatch or error.
 */
export async function runReconcile(args: string[], env: NodeJS.ProcessEnv = process.env, io: Out = stdio): Promise<number> {
  const usage = 'usage: orch reconcile [--json] [--accept-external] [--nats URL] [--state-dir DIR] [--timeout MS]\n';
  let values;
  try {
    values = parseArgs({ args, strict: true, options: { ...OPS_OPTIONS, 'accept-external': { type: 'boolean' } } }).values;
  } catch (e) {
    io.err(`orch: ${(e as Error).message}\n${usage}`);
    return 2;
  }
  const nc = await connectOperator(values, env);
  try {
    let reply;
    try {
      reply = await requestParsed(nc, subjects.reconcileRequest(), ReconcileRequestSchema, { by: `operator:${env.USER ?? userInfo().username}`, ...(values['accept-external'] ? { acceptExternal: true } : {}) }, ReconcileReplySchema, Number(values.timeout ?? 30_000));
    } catch (e) {
      io.err(`orch: no answer from the broker on ${subjects.reconcileRequest()}: ${(e as Error).message}\n`);
      return 1;
    }
    if (values.json) io.out(`${JSON.stringify(reply)}\n`);
    else for (const r of reply.reports) {
      io.out(`${r.venue}: ${r.result}${r.error ? ` (${r.error})` : ''}, ${r.differences.length} difference(s)\n`);
      for (const d of r.differences) io.out(`  ${describe(d)}\n`);
    }
    return reply.reports.every((r) => r.result === 'ok' || r.result === 'resolved') ? 0 : 3;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

function describe(d: Difference): string {
  const where = [d.symbol, d.strategyId && `strategy=${d.strategyId}`, d.intentId && `intent=${d.intentId}`, d.venueOrderId && `order=${d.venueOrderId}`].filter(Boolean).join(' ');
  const field = d.field ? ` ${d.field}: local ${d.local ?? '-'} venue ${d.atVenue ?? '-'}` : '';
  return `${d.kind} [${d.resolution}] ${where}${field}${d.note ? ` — ${d.note}` : ''}`;
}

export const reconcileCmd = (args: string[]) => runReconcile(args);
