import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { launchNatsServer, type NatsProcess } from '../nats-launcher.ts';
import { clusterDurabilityFile } from '../nats-durability.ts';
import { connectBus } from '../../actors/bus.ts';
import type { Certs } from './throwaway-ca.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const deployDir = join(repoRoot, 'deploy', 'nats');
const NODE_NAMES = ['a', 'b', 'c'] as const;

export type ClusterNode = { name: string; url: string; env: NodeJS.ProcessEnv; process: NatsProcess | undefined };

export type NatsCluster = {
  nodes: ClusterNode[];
  /** Every node's client URL, comma-separated (as `orch start --nats` takes them). */
  urls: string;
  /** kill -9 one node. */
  kill(name: string): Promise<void>;
  cleanup(): Promise<void>;
};

/** A TCP port free on the loopback interface right now (the demo's and the tests' processes bind it next). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function natsServerVersion(): Promise<string> {
  const { stdout } = await promisify(execFile)('nats-server', ['--version']);
  return stdout.trim();
}

/**
 * Three nats-servers on loopback, clustered from the committed deploy/nats/cluster.conf exactly as
 * a host runs it: only the per-host environment (ports, store directories, certificate paths)
 * differs. `authorization`: the text of the authorization.conf every node includes.
 */
export async function startNatsCluster(o: { certs: Certs; authorization: string; user?: { user: string; pass: string } }): Promise<NatsCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'orch-cluster-'));
  await copyFile(join(deployDir, 'cluster.conf'), join(dir, 'cluster.conf'));
  await copyFile(join(deployDir, clusterDurabilityFile(await natsServerVersion())), join(dir, 'durability.conf'));
  await writeFile(join(dir, 'authorization.conf'), o.authorization, { mode: 0o600 });
  const clientPorts = await Promise.all(NODE_NAMES.map(() => freePort()));
  const routePorts = await Promise.all(NODE_NAMES.map(() => freePort()));
  const nodes: ClusterNode[] = NODE_NAMES.map((name, i) => ({
    name: `nats-${name}`,
    url: `nats://127.0.0.1:${clientPorts[i]}`,
    process: undefined,
    env: {
      ORCH_NATS_NAME: `nats-${name}`,
      ORCH_NATS_LISTEN: `127.0.0.1:${clientPorts[i]}`,
      ORCH_NATS_CLUSTER_LISTEN: `127.0.0.1:${routePorts[i]}`,
      ORCH_NATS_ROUTE_A: `nats-route://127.0.0.1:${routePorts[0]}`,
      ORCH_NATS_ROUTE_B: `nats-route://127.0.0.1:${routePorts[1]}`,
      ORCH_NATS_ROUTE_C: `nats-route://127.0.0.1:${routePorts[2]}`,
      ORCH_NATS_STORE_DIR: join(dir, `store-${name}`),
      ORCH_NATS_TLS_CERT: o.certs.certFile,
      ORCH_NATS_TLS_KEY: o.certs.keyFile,
      ORCH_NATS_TLS_CA: o.certs.caFile,
    },
  }));
  const reapers: (() => void)[] = [];
  await Promise.all(nodes.map(async (n, i) => {
    await mkdir(n.env.ORCH_NATS_STORE_DIR!, { recursive: true });
    n.process = await launchNatsServer({ configFile: join(dir, 'cluster.conf'), storeDir: n.env.ORCH_NATS_STORE_DIR!, port: clientPorts[i], env: n.env, storeDirInConfig: true });
    // A test file ended by --test-force-exit skips its after-hooks: no node may outlive it.
    const reap = () => void n.process?.process.kill('SIGKILL');
    process.once('exit', reap);
    reapers.push(() => process.off('exit', reap));
  }));
  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((n) => n.url).join(','),
    async kill(name) {
      const n = nodes.find((x) => x.name === name);
      if (!n?.process) throw new Error(`no running node ${name}`);
      await n.process.stop('SIGKILL');
      n.process = undefined;
    },
    async cleanup() {
      await Promise.all(nodes.map((n) => n.process?.stop('SIGKILL')));
      for (const r of reapers) r();
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitForJetStream(cluster.urls, o.certs.caFile, o.user);
  } catch (e) {
    await cluster.cleanup();
    throw e;
  }
  return cluster;
}

/** JetStream answers once the nodes have found each other and elected a meta leader. */
async function waitForJetStream(urls: string, caFile: string, user?: { user: string; pass: string }): Promise<void> {
  const nc = await connectBus({ servers: urls, name: 'cluster-wait', tlsCaFile: caFile, ...(user ?? {}) });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        // Requests made while the nodes are still electing go unanswered: ask again, briefly.
        const jsm = await jetstreamManager(nc, { timeout: 1_000 });
        await jsm.getAccountInfo();
        return;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`the cluster's JetStream did not come up: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await nc.close();
  }
}
