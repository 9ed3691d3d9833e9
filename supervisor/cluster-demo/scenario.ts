import type { NatsConnection } from '@nats-io/transport-node';
import { connectBus } from '../../actors/bus.ts';
import type { Topology } from './topology.ts';
import type { OrchProcess } from './orch-process.ts';
import {
  acknowledgedEntriesLost, duplicateOrders, eventStreamLeader, leaseHolderPid, readLogEntries, venueEventsMissingFromLog, venueOrders,
  type LoggedEntry, type VenueOrder,
} from './observe.ts';

/**
 * The failures the demo and the topology test put the cluster through, each a step that returns
 * what it measured: kill -9 of the broker holding the lease, kill -9 of the NATS node leading the
 * event log. The watching connection is the operator's, over TLS, given every node.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function connectWatch(t: Topology): Promise<NatsConnection> {
  return connectBus({ servers: t.cluster.urls, name: 'cluster-watch', tlsCaFile: t.certs.caFile, ...t.operator });
}

export const ordersAt = (t: Topology): Promise<VenueOrder[]> => venueOrders(t.sim.info.kite);

/** Polls `f` until it returns a value (errors count as not yet). */
export async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined>, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

/** Resolves once the exchange holds at least `n` more orders than `from` (orders keep flowing). */
export async function ordersFlow(t: Topology, n: number, from = 0, timeoutMs = 60_000): Promise<VenueOrder[]> {
  return until(`${n} new venue orders`, timeoutMs, async () => {
    const orders = await ordersAt(t);
    return orders.length >= from + n ? orders : undefined;
  });
}

export type BrokerFailover = { killed: string; killedProcess: OrchProcess; successor: string; failoverMs: number };

/**
 * kill -9 of the broker process holding the lease, while the strategies keep sending. The
 * failover time runs from the kill to the first order the exchange receives after it (the
 * standby's: the killed process is gone by then).
 */
export async function killActiveBroker(t: Topology, watch: NatsConnection): Promise<BrokerFailover> {
  const pid = await until('lease holder', 10_000, () => leaseHolderPid(watch));
  const active = t.brokerByPid(pid);
  if (!active) throw new Error(`the lease names pid ${pid}, none of the brokers`);
  const killedProcess = active.process;
  const t0 = Date.now();
  await killedProcess.kill9();
  const known = new Set((await ordersAt(t)).map((o) => o.order_id));
  await until('order after the kill', 120_000, async () => ((await ordersAt(t)).some((o) => !known.has(o.order_id)) ? true : undefined), 100);
  const failoverMs = Date.now() - t0;
  const successorPid = await until('new lease holder', 10_000, async () => {
    const p = await leaseHolderPid(watch);
    return p !== undefined && p !== pid ? p : undefined;
  });
  return { killed: active.name, killedProcess, successor: t.brokerByPid(successorPid)?.name ?? `pid ${successorPid}`, failoverMs };
}

export type NodeLoss = { node: string; lost: string[]; eventsBefore: number; eventsAfter: number };

/**
 * kill -9 of the nats-server leading the event log, while orders flow. Every entry the log held
 * before must still be there after, once and in order. The log is read again once the two nodes
 * left have elected a new leader and `settleMs` have passed (the writers retry meanwhile).
 */
export async function killEventLogLeader(t: Topology, watch: NatsConnection, settleMs = 8_000): Promise<NodeLoss> {
  const { leader } = await eventStreamLeader(watch);
  if (!leader) throw new Error('the event log has no leader');
  const before = await readLogEntries(watch);
  await t.cluster.kill(leader);
  await until('a new leader of the event log', 60_000, async () => {
    const now = (await eventStreamLeader(watch)).leader;
    return now && now !== leader ? now : undefined;
  }, 500);
  await sleep(settleMs);
  const after = await readLogEntries(watch);
  return { node: leader, lost: acknowledgedEntriesLost(before, after), eventsBefore: before.length, eventsAfter: after.length };
}

export type Tally = { orders: number; duplicateOrders: number; missing: string[]; log: LoggedEntry[] };

/**
 * The venue against the log: duplicate orders per intent, and every venue order and fill in the
 * log. A fill the venue made a moment ago may not be logged yet (the broker hears of it by push
 * or poll), so the comparison waits for the log to catch up, up to `settleMs`; a lost event stays missing.
 */
export async function tally(t: Topology, watch: NatsConnection, settleMs = 20_000): Promise<Tally> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const orders = await ordersAt(t);
    await sleep(1_000);
    const log = await readLogEntries(watch);
    const missing = venueEventsMissingFromLog(log, orders);
    if (missing.length === 0 || Date.now() > deadline) return { orders: orders.length, duplicateOrders: duplicateOrders(orders), missing, log };
  }
}
