import { subjects } from '../../actors/subjects.ts';
import { ReloadResultSchema, type ReloadResult } from '../ops-schemas.ts';
import { connectOperator } from './nats-cli.ts';
import { ask, parseOpsArgs, stdio, timeoutArg, type Io } from './ops-client.ts';

const USAGE = 'usage: orch reload [--json] [--nats URL] [--state-dir DIR] [--timeout MS]\n';

/**
 * `orch reload`: what an edit under the file watch does, on demand: the running supervisor
 * validates the registry and the strategy modules and applies what changed. Exit 0 when applied
 * or nothing changed, 1 when the file was refused (nothing changed) or the supervisor is unreachable.
 */
export async function runReload(args: string[], env: NodeJS.ProcessEnv = process.env, io: Io = stdio): Promise<number> {
  const values = parseOpsArgs(args, USAGE, io);
  if (!values) return 2;
  // Restarting strategies takes a few seconds each.
  const timeoutMs = timeoutArg(values.timeout, 60_000);
  const nc = await connectOperator(values, env);
  try {
    let r: ReloadResult;
    try {
      r = await ask(nc, 'supervisor', subjects.serviceEndpoint('supervisor', 'reload'), ReloadResultSchema, timeoutMs);
    } catch (e) {
      io.err(`orch: ${(e as Error).message}\n`);
      return 1;
    }
    if (values.json) io.out(`${JSON.stringify(r)}\n`);
    else io.out(describe(r));
    if (r.error) io.err(`orch: reload refused, nothing changed: ${r.error.message}\n`);
    return r.result === 'applied' || r.result === 'unchanged' ? 0 : 1;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

function describe(r: ReloadResult): string {
  const list = (label: string, ids: string[]) => (ids.length ? [`  ${label}: ${ids.join(', ')}`] : []);
  const head = r.result === 'applied' ? 'reload applied' : r.result === 'unchanged' ? 'reload: nothing changed' : `reload ${r.result}: running strategies unchanged`;
  return [
    head,
    ...list('started', r.started), ...list('restarted', r.restarted), ...list('stopped', r.stopped),
    ...(r.cancelledOrders ? [`  open orders cancelled: ${r.cancelledOrders}`] : []),
    ...list('unchanged', r.unchanged),
  ].join('\n') + '\n';
}

export const reload = (args: string[]) => runReload(args);
