import { subjects } from '../../actors/subjects.ts';
import { KILL_LEVEL_NAMES, type KillLevel } from '../../actors/messages.ts';
import { BrokerStatusSchema, SupervisorStatusSchema, type BrokerStatus, type SupervisorStatus } from '../ops-schemas.ts';
import { connectOperator } from './nats-cli.ts';
import { ask, parseOpsArgs, table, stdio, timeoutArg, type Io } from './ops-client.ts';

const USAGE = 'usage: orch status [--json] [--nats URL] [--state-dir DIR] [--timeout MS]\n';

/**
 * `orch status`: the supervisor's actors and the broker's view (kill level, venues, limiter
 * headroom, positions, P&L, open orders), from their NATS service endpoints. Exit 0 when both
 * answered, 1 when either could not be reached (what did answer is still printed), 2 on usage.
 */
export async function runStatus(args: string[], env: NodeJS.ProcessEnv = process.env, io: Io = stdio): Promise<number> {
  const values = parseOpsArgs(args, USAGE, io);
  if (!values) return 2;
  const timeoutMs = timeoutArg(values.timeout, 5_000);
  const nc = await connectOperator(values, env);
  try {
    const [sup, brk] = await Promise.allSettled([
      ask(nc, 'supervisor', subjects.serviceEndpoint('supervisor', 'status'), SupervisorStatusSchema, timeoutMs),
      ask(nc, 'broker', subjects.serviceEndpoint('broker', 'status'), BrokerStatusSchema, timeoutMs),
    ]);
    const errors = [sup, brk].flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    const supervisor = sup.status === 'fulfilled' ? sup.value : undefined;
    const broker = brk.status === 'fulfilled' ? brk.value : undefined;
    if (values.json) io.out(`${JSON.stringify({ supervisor: supervisor ?? null, broker: broker ?? null, errors })}\n`);
    else io.out(render(supervisor, broker));
    for (const e of errors) io.err(`orch: ${e}\n`);
    return errors.length ? 1 : 0;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

const levelName = (l: number) => `${l} ${KILL_LEVEL_NAMES[l as KillLevel] ?? '?'}`;

export function render(sup: SupervisorStatus | undefined, brk: BrokerStatus | undefined): string {
  const out: string[] = [];
  if (brk) {
    const halted = Object.entries(brk.kill.strategies).filter(([, e]) => e.level > 0);
    out.push(`Kill level: global ${levelName(brk.kill.global.level)}${brk.kill.global.level > 0 ? ` (${brk.kill.global.reason}, by ${brk.kill.global.by})` : ''}`);
    for (const [id, e] of halted) out.push(`            ${id} ${levelName(e.level)} (${e.reason}, by ${e.by})`);
    const f = brk.flatten;
    if (f && !f.flat) {
      const left = f.remaining.map((r) => `${r.venue} ${r.symbol} ${r.qty}`).join(', ');
      out.push(`Flatten:    NOT FLAT (${f.scope}, ${f.orders} closing orders over ${f.rounds} rounds): ${left}; close these by hand`);
    }
    out.push(`Venues:     ${brk.venues.map((v) => `${v.venue} ${v.connected ? 'connected' : 'DISCONNECTED'}`).join(', ')}`, '');
  }
  if (sup) {
    out.push('Actors');
    out.push(table(['ID', 'STATE', 'RESTARTS', 'TICKS', 'GAPS', 'INTENTS', 'LAST ERROR'], sup.actors.map((a) => [
      a.id, a.health && a.status === 'running' ? a.health.state : a.status, a.restarts, a.health?.ticks ?? '-', a.health?.tickGaps ?? '-', a.health?.intents ?? '-', a.lastError ?? '',
    ])));
  }
  if (brk) {
    out.push('Limiter headroom');
    out.push(table(['CATEGORY', 'TOKENS', 'CAPACITY', 'QUEUED', 'PAUSED UNTIL'], brk.limiter.map((b) => [
      b.category, b.tokens, b.capacity, b.queueDepth, b.pausedUntil ? new Date(b.pausedUntil).toISOString() : '',
    ])));
    out.push('P&L per strategy (minor units: paise for Kite)');
    out.push(brk.pnl.length ? table(['STRATEGY', 'REALIZED', 'UNREALIZED', 'TOTAL', 'OPEN ORDERS', 'UNPRICED'], brk.pnl.map((p) => [
      p.strategyId, p.realized, p.unrealized, p.total, p.openOrders, p.unpriced.join(','),
    ])) : '(no positions or orders yet)\n');
    out.push('Positions');
    out.push(brk.positions.length ? table(['STRATEGY', 'VENUE', 'SYMBOL', 'QTY', 'AVG PRICE', 'LAST', 'REALIZED'], brk.positions.map((p) => [
      p.strategyId, p.venue, p.symbol, p.qty, p.avgPrice ?? '-', p.lastPrice ?? '-', p.realized,
    ])) : '(none)\n');
    if (brk.externalPositions.length) {
      out.push('Held outside the strategies (baseline; never traded)');
      out.push(table(['VENUE', 'SYMBOL', 'QTY'], brk.externalPositions.map((x) => [x.venue, x.symbol, x.qty])));
    }
    out.push('Open orders');
    out.push(brk.openOrders.length ? table(['STRATEGY', 'INTENT', 'SYMBOL', 'SIDE', 'QTY', 'FILLED', 'LIMIT', 'STATE'], brk.openOrders.map((o) => [
      o.strategyId, o.intentId, o.symbol, o.side, o.qty, o.filledQty, o.limitPrice ?? 'MKT', o.state,
    ])) : '(none)\n');
  }
  return out.join('\n');
}

export const status = (args: string[]) => runStatus(args);
