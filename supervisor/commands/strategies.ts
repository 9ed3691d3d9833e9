import { subjects } from '../../actors/subjects.ts';
import { StrategiesReplySchema } from '../ops-schemas.ts';
import { connectOperator } from './nats-cli.ts';
import { askAll, parseOpsArgs, table, stdio, timeoutArg, type Io } from './ops-client.ts';

const USAGE = 'usage: orch strategies [--json] [--nats URL] [--state-dir DIR] [--timeout MS]\n';

/** `orch strategies`: the registry as the running supervisors have it (every host's group), with each actor's state. */
export async function runStrategies(args: string[], env: NodeJS.ProcessEnv = process.env, io: Io = stdio): Promise<number> {
  const values = parseOpsArgs(args, USAGE, io);
  if (!values) return 2;
  const timeoutMs = timeoutArg(values.timeout, 5_000);
  const nc = await connectOperator(values, env);
  try {
    let reply;
    try {
      // Every host's supervisor answers with its own placement group's strategies.
      const replies = await askAll(nc, 'supervisor', subjects.serviceEndpoint('supervisor', 'strategies'), StrategiesReplySchema, timeoutMs);
      const byId = new Map(replies.flatMap((r) => r.strategies).map((st) => [st.id, st]));
      reply = { configFile: replies[0]!.configFile, strategies: [...byId.values()] };
    } catch (e) {
      io.err(`orch: ${(e as Error).message}\n`);
      return 1;
    }
    if (values.json) {
      io.out(`${JSON.stringify(reply)}\n`);
      return 0;
    }
    io.out(`Registry: ${reply.configFile}\n`);
    io.out(table(['ID', 'VENUE', 'STATE', 'RESTARTS', 'INSTRUMENTS', 'ON REMOVE', 'MODULE'], reply.strategies.map((s) => [
      s.id, s.venue, s.status, s.restarts, s.instruments.join(','), s.onRemove, s.module,
    ])));
    return 0;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

export const strategies = (args: string[]) => runStrategies(args);
