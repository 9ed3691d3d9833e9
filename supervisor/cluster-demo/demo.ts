/**
 * `npm run demo:cluster`: the multi-host topology of docs/deploy.md ("Several hosts") on this
 * machine, for a person to watch (supervisor/cluster-demo/topology.ts): a status line a second,
 * kill -9 of the active broker, then kill -9 of the NATS node leading the event log. Ends with one
 * JSON line, {"failoverMs":…,"duplicateOrders":…,"lostEvents":…,"nodeLossLostEvents":…}; exit 0
 * only when no order was placed twice and no event was lost. docs/deploy.md, "Watching a failover".
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { startTopology, type Topology } from './topology.ts';
import { connectWatch, killActiveBroker, killEventLogLeader, ordersAt, ordersFlow, tally } from './scenario.ts';
import { eventStreamLeader, leaseHolderPid } from './observe.ts';

const LEASE_TTL_MS = 3_000;
const started = Date.now();
const say = (line: string) => process.stdout.write(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s  ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the demo needs besides `npm ci`: the README's install line has both. */
function missingTools(): string[] {
  return ['nats-server', 'openssl'].filter((tool) => {
    try {
      execFileSync(tool, [tool === 'openssl' ? 'version' : '--version'], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

/** One line a second: who holds the lease, each broker, the exchange's orders and fills, the log, the nodes. */
function startStatus(t: Topology, watch: NatsConnection): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      const [holder, orders, log] = await Promise.all([
        leaseHolderPid(watch).catch(() => undefined),
        ordersAt(t).catch(() => undefined),
        eventStreamLeader(watch).catch(() => undefined),
      ]);
      // A lease naming a process that is gone stands until it lapses (its TTL).
      const holderName = holder === undefined ? 'nobody' : t.brokerByPid(holder)?.name ?? `pid ${holder} (gone: lapsing)`;
      const brokers = t.brokers.map((b) => `${b.name.replace('broker-', '')}:${!b.process.running() ? 'down' : b.process.pid === holder ? 'active' : 'standby'}`).join(' ');
      const up = t.cluster.nodes.filter((n) => n.process).length;
      const ordersText = orders ? `${orders.length} orders (${orders.filter((o) => o.filled_quantity > 0).length} filled)` : 'orders ?';
      say(`lease: ${holderName} | brokers ${brokers} | ${ordersText} | event log ${log ? `${log.messages} events, leader ${log.leader ?? 'none'}` : 'electing…'} | nats ${up}/3 up`);
    })().finally(() => { busy = false; });
  }, 1_000);
  return () => clearInterval(timer);
}

async function main(): Promise<number> {
  const missing = missingTools();
  if (missing.length > 0) {
    process.stderr.write(`demo:cluster needs ${missing.join(' and ')}: sudo apt-get install -y nats-server openssl\n`);
    return 2;
  }
  const dir = await mkdtemp(join(tmpdir(), 'orch-demo-'));
  say(`every process's log: ${join(dir, 'logs')}`);
  let topo: Topology | undefined;
  let watch: NatsConnection | undefined;
  let stopStatus: (() => void) | undefined;
  const shutdown = async () => {
    stopStatus?.();
    await watch?.close().catch(() => undefined);
    await topo?.stop();
    // Only the logs stay: the throwaway users, the CA and the session token go with the run.
    for (const secret of ['admin', join('broker-a', '.orch'), join('broker-b', '.orch')]) await rm(join(dir, secret), { recursive: true, force: true });
  };
  process.once('SIGINT', () => void shutdown().finally(() => process.exit(130)));
  // Unknown until measured: a run that fails half-way still ends with the line, its gaps null.
  const result: Record<'failoverMs' | 'duplicateOrders' | 'lostEvents' | 'nodeLossLostEvents', number | null> = { failoverMs: null, duplicateOrders: null, lostEvents: null, nodeLossLostEvents: null };
  try {
    topo = await startTopology({ leaseTtlMs: LEASE_TTL_MS, dir, onStep: say });
    watch = await connectWatch(topo);
    stopStatus = startStatus(topo, watch);
    await ordersFlow(topo, 10);
    await sleep(3_000);

    say(`kill -9 of the active broker (lease TTL ${LEASE_TTL_MS} ms)`);
    const failover = await killActiveBroker(topo, watch);
    result.failoverMs = failover.failoverMs;
    say(`${failover.successor} took over from ${failover.killed}: its first venue order ${failover.failoverMs} ms after the kill`);
    const killedHost = topo.brokers.find((b) => b.name === failover.killed)!;
    await killedHost.restarted(failover.killedProcess);
    await killedHost.standby();
    say(`${failover.killed} is back (its host restarted it) as the standby`);
    await ordersFlow(topo, 5, (await ordersAt(topo)).length).catch(() => undefined);

    say('kill -9 of the NATS node leading the event log');
    const loss = await killEventLogLeader(topo, watch);
    result.nodeLossLostEvents = loss.lost.length;
    say(`${loss.node} is gone: the log had ${loss.eventsBefore} events before, ${loss.eventsAfter} now; ${loss.lost.length} of those acknowledged before are missing or changed`);
    await sleep(5_000);

    say('comparing the exchange\'s order book with the event log');
    const final = await tally(topo, watch);
    result.duplicateOrders = final.duplicateOrders;
    result.lostEvents = final.missing.length;
    for (const line of [...loss.lost, ...final.missing]) say(`LOST: ${line}`);
    stopStatus();
    say(`${final.orders} venue orders, ${final.duplicateOrders} placed twice; stopping every process`);
    await shutdown();
  } catch (e) {
    say(`the demo failed: ${(e as Error).message}`);
    await shutdown();
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.duplicateOrders === 0 && result.lostEvents === 0 && result.nodeLossLostEvents === 0 ? 0 : 1;
}

process.exitCode = await main();
