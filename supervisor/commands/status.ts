import { subjects } from '../../actors/subjects.ts';
import { KILL_LEVEL_NAMES, type KillLevel, type Venue } from '../../actors/messages.ts';
import { BrokerStatusSchema, SupervisorStatusSchema, type BrokerStatus, type SupervisorStatus } from '../ops-schemas.ts';
import { connectOperator } from './nats-cli.ts';
import { parseArgs } from 'node:util';
import { ask, askAll, OPS_OPTIONS, table, stdio, timeoutArg, type Io } from './ops-client.ts';
import { showPnl, showPrice, showQty, unitsNote } from '../units.ts';

const USAGE = 'usage: orch status [--strategy ID] [--json] [--nats URL] [--state-dir DIR] [--timeout MS]\n';

/**
 * `orch status`: the supervisor's actors and the broker's view (kill level, venues, limiter
 * headroom, positions, P&L, open orders), from their NATS service endpoints. Exit 0 when both
 * answered, 1 when either could not be reached (what did answer is still printed), 2 on usage.
 */
export async function runStatus(args: string[], env: NodeJS.ProcessEnv = process.env, io: Io = stdio): Promise<number> {
  let values;
  try {
    values = parseArgs({ args, strict: true, options: { ...OPS_OPTIONS, strategy: { type: 'string' } } }).values;
  } catch (e) {
    io.err(`orch: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const timeoutMs = timeoutArg(values.timeout, 5_000);
  const nc = await connectOperator(values, env);
  try {
    const [sup, brk] = await Promise.allSettled([
      // Every host's supervisor answers (orch start --role strategies on several hosts).
      askAll(nc, 'supervisor', subjects.serviceEndpoint('supervisor', 'status'), SupervisorStatusSchema, timeoutMs),
      ask(nc, 'broker', subjects.serviceEndpoint('broker', 'status'), BrokerStatusSchema, timeoutMs),
    ]);
    const errors = [sup, brk].flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    const supervisors = sup.status === 'fulfilled' ? sup.value.sort((a, b) => (a.group ?? '').localeCompare(b.group ?? '') || (a.host ?? '').localeCompare(b.host ?? '')) : [];
    // One view of every host's actors; `supervisors` keeps each host's own.
    let supervisor: SupervisorStatus | undefined = supervisors[0] && { ...supervisors[0], actors: supervisors.flatMap((x) => x.actors) };
    let broker = brk.status === 'fulfilled' ? brk.value : undefined;
    const only = values.strategy;
    if (only !== undefined) {
      const known = new Set([...(supervisor?.actors.map((a) => a.id) ?? []), ...(broker?.pnl.map((p) => p.strategyId) ?? []), ...Object.keys(broker?.kill.strategies ?? {})]);
      if (!known.has(only)) {
        io.err(`orch: unknown strategy "${only}": the running system has ${[...known].sort().join(', ') || 'none'}\n`);
        return 2;
      }
      supervisor &&= { ...supervisor, actors: supervisor.actors.filter((a) => a.id === only) };
      broker &&= {
        ...broker,
        kill: { ...broker.kill, strategies: Object.fromEntries(Object.entries(broker.kill.strategies).filter(([id]) => id === only)) },
        positions: broker.positions.filter((p) => p.strategyId === only),
        pnl: broker.pnl.filter((p) => p.strategyId === only),
        openOrders: broker.openOrders.filter((o) => o.strategyId === only),
      };
    }
    if (values.json) io.out(`${JSON.stringify({ supervisor: supervisor ?? null, supervisors: supervisors.map(({ actors, ...rest }) => ({ ...rest, actors: actors.map((a) => a.id) })), broker: broker ?? null, errors })}\n`);
    else io.out(render(supervisor, broker, supervisors));
    for (const e of errors) io.err(`orch: ${e}\n`);
    return errors.length ? 1 : 0;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

const levelName = (l: number) => `${l} ${KILL_LEVEL_NAMES[l as KillLevel] ?? '?'}`;

export function render(sup: SupervisorStatus | undefined, brk: BrokerStatus | undefined, hosts: readonly SupervisorStatus[] = []): string {
  const out: string[] = [];
  if (hosts.length > 1 || hosts.some((h) => h.group !== undefined && h.group !== '(all)')) {
    out.push('Supervisors');
    out.push(table(['HOST', 'GROUP', 'ACTORS'], hosts.map((h) => [h.host ?? '?', h.group ?? '?', h.actors.map((a) => a.id).join(', ') || '(none)'])));
  }
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
    const note = unitsNote(brk.venues.map((v) => v.venue as Venue));
    out.push(`P&L per strategy${note ? ` (${note})` : ''}`);
    out.push(brk.pnl.length ? table(['STRATEGY', 'VENUE', 'REALIZED', 'UNREALIZED', 'TOTAL', 'OPEN ORDERS', 'UNPRICED'], brk.pnl.map((p) => [
      p.strategyId, p.venue ?? '-', showPnl(p.venue, p.realized), showPnl(p.venue, p.unrealized), showPnl(p.venue, p.total), p.openOrders, p.unpriced.join(','),
    ]), [2, 3, 4]) : '(no positions or orders yet)\n');
    out.push('Positions');
    out.push(brk.positions.length ? table(['STRATEGY', 'VENUE', 'SYMBOL', 'QTY', 'AVG PRICE', 'LAST', 'REALIZED'], brk.positions.map((p) => [
      p.strategyId, p.venue, p.symbol, showQty(p.venue, p.qty), showPrice(p.venue, p.avgPrice), showPrice(p.venue, p.lastPrice), showPnl(p.venue, p.realized),
    ]), [3, 4, 5, 6]) : '(none)\n');
    if (brk.externalPositions.length) {
      out.push('Held outside the strategies (baseline; never traded)');
      out.push(table(['VENUE', 'SYMBOL', 'QTY'], brk.externalPositions.map((x) => [x.venue, x.symbol, showQty(x.venue, x.qty)]), [2]));
    }
    out.push('Open orders');
    out.push(brk.openOrders.length ? table(['STRATEGY', 'INTENT', 'SYMBOL', 'SIDE', 'QTY', 'FILLED', 'LIMIT', 'STATE'], brk.openOrders.map((o) => [
      o.strategyId, o.intentId, o.symbol, o.side, showQty(o.venue, o.qty), showQty(o.venue, o.filledQty), o.limitPrice === undefined ? 'MKT' : showPrice(o.venue, o.limitPrice), o.state,
    ]), [4, 5, 6]) : '(none)\n');
  }
  return out.join('\n');
}

export const status = (args: string[]) => runStatus(args);
