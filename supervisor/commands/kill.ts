import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectBus } from '../../actors/bus.ts';
import { systemClock } from '../../actors/clock.ts';
import { KILL_LEVEL_NAMES, type KillLevel, type KillScope } from '../../actors/messages.ts';
import { KillStore } from '../../broker/kill/kill-store.ts';
import { scopeLabel } from '../../broker/kill/levels.ts';
import { operatorCredentials } from '../nats-auth.ts';
import { registryIds } from './ops-client.ts';
import { SupervisorError } from '../errors.ts';

/**
 * `orch kill <level> [--strategy id] --reason "..."` and `orch reset <level> ...`: the operator's
 * hand on the latched level. Connects as the NATS `operator` user when credentials exist
 * (ORCH_NATS_OPERATOR_PASSWORD or the generated passwords file), opens the kill store with the
 * operator role, writes, and prints one line. The broker acts on the change (docs/kill-switch.md).
 */
export type Out = { out: (s: string) => void; err: (s: string) => void };
const stdio: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

const OPTIONS = {
  strategy: { type: 'string' },
  reason: { type: 'string' },
  nats: { type: 'string' },
  'state-dir': { type: 'string' },
  operator: { type: 'string' },
} as const;

export class KillCommandError extends SupervisorError {
  override readonly name = 'KillCommandError';
  constructor(message: string) {
    super('kill_command', message);
  }
}

type Parsed = { level: KillLevel; scope: KillScope; reason: string; natsUrl: string; stateDir: string; operator: string };

function parse(mode: 'kill' | 'reset', args: string[], env: NodeJS.ProcessEnv): Parsed {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  const usage = `usage: orch ${mode} <level> [--strategy ID] --reason "..."`;
  if (positionals.length !== 1) throw new KillCommandError(`${usage}: exactly one level`);
  const raw = positionals[0]!;
  const n = Number(raw);
  const allowed = mode === 'kill' ? [1, 2, 3, 4] : [0, 1, 2, 3];
  if (!Number.isInteger(n) || !allowed.includes(n)) throw new KillCommandError(`${usage}: level must be one of ${allowed.join(', ')}, got "${raw}"`);
  const level = n as KillLevel;
  if (!values.reason?.trim()) throw new KillCommandError(`${usage}: --reason is required (it is kept in the audit trail)`);
  // Level 1 is scoped to a strategy, 2-4 are global (ARCHITECTURE.md); a reset follows the scope it lowers.
  if (mode === 'kill' && level === 1 && !values.strategy) throw new KillCommandError('level 1 (STRATEGY HALT) needs --strategy ID');
  if (mode === 'kill' && level >= 2 && values.strategy) throw new KillCommandError(`level ${level} (${KILL_LEVEL_NAMES[level]}) is global; drop --strategy`);
  if (mode === 'reset' && values.strategy && level > 0) throw new KillCommandError('a strategy scope is only ever at level 1: reset it to 0');
  const scope: KillScope = values.strategy ? { kind: 'strategy', strategyId: values.strategy } : { kind: 'global' };
  return {
    level,
    scope,
    reason: values.reason.trim(),
    natsUrl: values.nats ?? env.NATS_URL ?? 'nats://127.0.0.1:4222',
    stateDir: values['state-dir'] ?? join(process.cwd(), '.orch'),
    operator: values.operator ?? env.USER ?? userInfo().username,
  };
}

async function withStore<T>(p: Parsed, env: NodeJS.ProcessEnv, fn: (store: KillStore, nc: NatsConnection) => Promise<T>): Promise<T> {
  const creds = await operatorCredentials(p.stateDir, env);
  let nc: NatsConnection;
  try {
    nc = await connectBus({ servers: p.natsUrl, name: 'orch-cli', timeoutMs: 3_000, ...(creds ?? {}) });
  } catch (e) {
    const msg = (e as Error).message;
    if (/authorization/i.test(msg)) throw new KillCommandError(`NATS at ${p.natsUrl} refused the operator credentials${creds ? '' : ' (none found: set ORCH_NATS_OPERATOR_PASSWORD or use --state-dir of the running orchestrator)'}`);
    throw new KillCommandError(`cannot reach NATS at ${p.natsUrl}: ${msg}; is the orchestrator running? (--nats URL or NATS_URL)`);
  }
  try {
    const store = await KillStore.open(nc, { clock: systemClock, role: 'operator' });
    return await fn(store, nc);
  } catch (e) {
    if (/permission/i.test((e as Error).message)) throw new KillCommandError(`NATS at ${p.natsUrl} did not let this user write the kill level: operator credentials needed`);
    throw e;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

export async function runKill(mode: 'kill' | 'reset', args: string[], env: NodeJS.ProcessEnv = process.env, io: Out = stdio): Promise<number> {
  let p: Parsed;
  try {
    p = parse(mode, args, env);
  } catch (e) {
    io.err(`orch: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    return await withStore(p, env, async (store, nc) => {
      if (p.scope.kind === 'strategy') {
        // A typo must not latch a level nobody reads while the strategy meant keeps trading.
        const id = p.scope.strategyId;
        const [ids, state] = await Promise.all([registryIds(nc, 3_000), store.read()]);
        if (!ids?.includes(id) && !(id in state.strategies)) {
          io.err(`orch: unknown strategy "${id}": not in the running registry${ids ? ` (${ids.join(', ') || 'empty'})` : ' (no orchestrator answers)'} and never given a kill level\n`);
          return 2;
        }
      }
      const by = `operator:${p.operator}`;
      const r = mode === 'kill' ? await store.raise(p.level, p.scope, p.reason, by) : await store.reset(p.level, p.scope, p.reason, p.operator);
      const where = scopeLabel(p.scope);
      const now = `${r.entry.level} (${KILL_LEVEL_NAMES[r.entry.level]})`;
      if (!r.changed) {
        io.out(`kill level of ${where} unchanged at ${now}: ${mode === 'kill' ? 'a raise never lowers' : 'a reset never raises'}\n`);
        return 0;
      }
      io.out(`kill level of ${where} is now ${now} (revision ${r.revision}, ${by}: ${p.reason})\n`);
      if (r.entry.restartRequired) io.out('level 4 (FLATTEN) was raised: restart the orchestrator (orch start) before it trades again; until then the broker refuses every intent\n');
      return 0;
    });
  } catch (e) {
    io.err(`orch: ${(e as Error).message}\n`);
    return 1;
  }
}

export const kill = (args: string[]) => runKill('kill', args);
export const reset = (args: string[]) => runKill('reset', args);
