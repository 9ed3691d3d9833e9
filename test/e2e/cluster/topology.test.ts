import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { startTopology, DEMO_STRATEGIES, type Topology } from '../../../supervisor/cluster-demo/topology.ts';
import { connectWatch, killActiveBroker, killEventLogLeader, ordersFlow, tally, until } from '../../../supervisor/cluster-demo/scenario.ts';
import { eventStreamLeader, leaseHolderPid } from '../../../supervisor/cluster-demo/observe.ts';

/**
 * The whole multi-host topology as real processes on this machine (what `npm run demo:cluster`
 * shows): three nats-servers clustered over TLS from deploy/nats/, the built-in exchange alone
 * (`orch sim`) used as a live Kite account, two `orch start --role broker` (the second a standby
 * on a 3 s lease) and two `orch start --role strategies` hosts with their own groups. While the
 * strategies trade: kill -9 of the active broker, kill -9 of the NATS node leading the event
 * log, SIGSTOP of the then-active broker until the restarted other one has taken over. No venue
 * order twice, no venue fill missing from the log, no acknowledged event lost, and a broker
 * woken after losing its lease writes nothing to the venue.
 */
test('the cluster topology: the standby trades after kill -9 of the active broker, a NATS node\'s death loses no event, a frozen broker is fenced, and no order is placed twice', async (t) => {
  const started = Date.now();
  // Every process's log is kept there when the test fails.
  const dir = await mkdtemp(join(tmpdir(), 'orch-topology-test-'));
  let passed = false;
  let topo: Topology | undefined;
  let watch: NatsConnection | undefined;
  t.after(async () => {
    await watch?.close().catch(() => undefined);
    await topo?.stop();
    if (passed) await rm(dir, { recursive: true, force: true });
    else process.stdout.write(`# the processes' logs: ${join(dir, 'logs')}\n`);
    process.stdout.write(`# topology test: ${Math.round((Date.now() - started) / 1000)} s wall time\n`);
  });
  topo = await startTopology({ leaseTtlMs: 3_000, dir });
  watch = await connectWatch(topo);
  const b = topo.brokers[1]!;

  // Both groups trade through the one broker, each host running only its own strategy.
  await ordersFlow(topo, 6);
  assert.equal((await eventStreamLeader(watch)).replicas, 3, '--nats-replicas 3 reached the event log');
  for (const [i, host] of topo.strategyHosts.entries()) {
    const other = DEMO_STRATEGIES.find((s) => s.group !== DEMO_STRATEGIES[i]!.group)!;
    assert.doesNotMatch(host.output(), new RegExp(`"strategy:${other.id}"`), `${host.name} never runs ${other.id}`);
  }
  assert.equal(b.tap.writes().length, 0, 'the standby has written nothing to the venue');

  // 1. kill -9 of the active broker: the standby takes the lease and trades.
  const failover = await killActiveBroker(topo, watch);
  assert.deepEqual([failover.killed, failover.successor], ['broker-a', 'broker-b']);
  process.stdout.write(`# failover: ${failover.failoverMs} ms from kill -9 of the active broker to the standby's first venue order (lease TTL 3000 ms)\n`);
  const afterFailover = await tally(topo, watch);
  assert.equal(afterFailover.duplicateOrders, 0, 'no intent placed twice across the failover');
  assert.deepEqual(afterFailover.missing, [], 'every venue order and fill across the failover is in the log');
  // broker-a's host starts it again (Restart=on-failure): it comes back as the standby.
  const a = topo.brokers[0]!;
  await a.restarted(failover.killedProcess);
  await a.standby();

  // 2. kill -9 of the node leading the event log: every event acknowledged before is there after,
  // once, in order, and the brokers' events go on being stored.
  const loss = await killEventLogLeader(topo, watch);
  assert.deepEqual(loss.lost, [], `no event lost when ${loss.node} died`);
  assert.ok(loss.eventsAfter > loss.eventsBefore, 'events are stored again on the two nodes left');
  const afterLoss = await tally(topo, watch);
  assert.equal(afterLoss.duplicateOrders, 0, 'no intent placed twice across the node\'s death');
  assert.deepEqual(afterLoss.missing, [], 'every venue order and fill since the node\'s death is in the log');
  const traded = new Set(afterLoss.log.flatMap((e) => (e.event.kind === 'intent' ? [e.event.strategyId] : [])));
  assert.deepEqual([...traded].sort(), DEMO_STRATEGIES.map((s) => s.id), 'both groups traded');

  // 3. SIGSTOP of the active broker until the other has taken over, then SIGCONT. A broker whose
  // lease lapsed during the node's election ended, and its host started it again: wait for a
  // holder and a standby first.
  const holder = await until('a lease holder and a standby', 90_000, async () => {
    const h = topo!.brokerByPid((await leaseHolderPid(watch!)) ?? 0);
    const o = topo!.brokers.find((x) => x !== h);
    return h && o && /broker ready/.test(h.process.output()) && /waiting as standby/.test(o.process.output()) ? h : undefined;
  });
  const other = topo.brokers.find((x) => x !== holder)!;
  const frozen = holder.process;
  frozen.child.kill('SIGSTOP');
  try {
    await other.ready();
    // The strategies trade on the new leader's ticks; intents still routed to the frozen broker wait in its socket.
    await new Promise((r) => setTimeout(r, 3_000));
  } finally {
    frozen.child.kill('SIGCONT');
  }
  const wokenWrites = holder.tap.writes().length;
  // Woken, it reads what waited in its socket, finds its lease gone and ends (exit 1); its host
  // starts it again as the standby. Whatever it did until it ended went through its tap.
  await frozen.exited;
  assert.equal(frozen.child.exitCode, 1, 'the fenced broker ended with exit 1');
  assert.match(frozen.output(), /broker fenced: it lost its lease/);
  assert.equal(holder.tap.writes().length, wokenWrites, `the woken ${holder.name} wrote nothing to the venue`);
  await holder.restarted(frozen);
  await holder.standby();

  const final = await tally(topo, watch);
  assert.equal(final.duplicateOrders, 0, 'no intent placed twice at the venue');
  assert.deepEqual(final.missing, [], 'every venue order and fill is in the log');
  passed = true;
});
