import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { requestParsed } from '../../actors/bus.ts';
import { subjects } from '../../actors/subjects.ts';
import { FlattenReplySchema, FlattenRequestSchema } from '../../broker/kill/flatten-wire.ts';
import { OPS_OPTIONS } from './ops-client.ts';
import { connectOperator } from './nats-cli.ts';

export type Out = { out: (s: string) => void; err: (s: string) => void };
const stdio: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/**
 * `orch flatten --strategy ID --reason "..."`: halts one strategy (kill level 1 for it, in the
 * audit trail with the operator's name) and closes every position the broker books to it,
 * following each closing order until the position is zero (docs/kill-switch.md). Exit 0 when
 * flat, 3 when positions remain (printed; also in `orch status` and the OrchFlattenIncomplete
 * alert), 1 when the broker did not answer or refused.
 */
export async function runFlatten(args: string[], env: NodeJS.ProcessEnv = process.env, io: Out = stdio): Promise<number> {
  const usage = 'usage: orch flatten --strategy ID --reason "..." [--operator NAME] [--json] [--nats URL] [--state-dir DIR] [--timeout MS]\n';
  let values;
  try {
    values = parseArgs({ args, strict: true, options: { ...OPS_OPTIONS, strategy: { type: 'string' }, reason: { type: 'string' }, operator: { type: 'string' } } }).values;
  } catch (e) {
    io.err(`orch: ${(e as Error).message}\n${usage}`);
    return 2;
  }
  if (!values.strategy) {
    io.err(`orch: --strategy is required (a global flatten is orch kill 4)\n${usage}`);
    return 2;
  }
  if (!values.reason?.trim()) {
    io.err(`orch: --reason is required (it is kept in the audit trail)\n${usage}`);
    return 2;
  }
  const request = FlattenRequestSchema.safeParse({ strategyId: values.strategy, reason: values.reason, by: `operator:${values.operator ?? env.USER ?? userInfo().username}` });
  if (!request.success) {
    io.err(`orch: ${request.error.issues[0]?.path.join('.')}: ${request.error.issues[0]?.message}\n${usage}`);
    return 2;
  }
  const nc = await connectOperator(values, env);
  try {
    let reply;
    try {
      // A flatten follows its orders (followMs per round, a few rounds): give it time.
      reply = await requestParsed(nc, subjects.flattenRequest(), FlattenRequestSchema, request.data, FlattenReplySchema, Number(values.timeout ?? 120_000));
    } catch (e) {
      io.err(`orch: no answer from the broker on ${subjects.flattenRequest()}: ${(e as Error).message}\n`);
      return 1;
    }
    if (values.json) io.out(`${JSON.stringify(reply)}\n`);
    if (!reply.ok) {
      io.err(`orch: flatten of ${request.data.strategyId} refused: ${reply.error}\n`);
      return 1;
    }
    if (!values.json) {
      io.out(`${request.data.strategyId} halted (level 1); ${reply.orders} closing order(s) over ${reply.rounds} round(s)\n`);
      if (reply.flat) io.out(`${request.data.strategyId} is flat\n`);
      else for (const r of reply.remaining) io.out(`NOT FLAT: ${r.venue} ${r.symbol} ${r.qty}: close it by hand\n`);
    }
    return reply.flat ? 0 : 3;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

export const flattenCmd = (args: string[]) => runFlatten(args);
