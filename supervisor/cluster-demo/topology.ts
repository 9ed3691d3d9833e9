import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { writeTokenFile } from '../../broker/kite/token-file.ts';
import { nextKiteExpiry } from '../../broker/kite/session.ts';
import { KITE_TOKEN_FILE } from '../venues/kite.ts';
import { BROKER, envVarFor, OPERATOR, strategyRole, SUPERVISOR, writeNatsAuth, type Credentials } from '../nats-auth.ts';
import { makeThrowawayCa, type Certs } from './throwaway-ca.ts';
import { freePort, startNatsCluster, type NatsCluster } from './nats-cluster.ts';
import { cleanEnv, repoRoot, spawnOrch, type OrchProcess } from './orch-process.ts';
import { startVenueTap, type VenueTap } from './venue-tap.ts';

/**
 * The whole multi-host topology on one machine, each part the command an operator runs on its
 * host (docs/deploy.md, "Several hosts"): three nats-servers clustered from deploy/nats/ over TLS
 * with a throwaway CA and the per-role users, the built-in exchange standalone (`orch sim`) used
 * as a real Kite account is (KITE_API_KEY/SECRET, KITE_API_ROOT, KITE_WS_URL and the day's token
 * in `.orch/kite-token.json`, the file `orch login kite` writes), two brokers
 * (`orch start --role broker`, the second a standby on the lease), and two strategy hosts
 * (`orch start --role strategies --group g1|g2`). What `npm run demo:cluster` and
 * test/e2e/cluster/topology.test.ts run.
 */

export const GROUPS = ['g1', 'g2'] as const;
/** One momentum strategy per placement group, trading often (a move of one tick is a signal). */
export const DEMO_STRATEGIES = [
  { id: 'momentum-g1', group: 'g1', instruments: ['NSE:INFY', 'NSE:TCS'] },
  { id: 'momentum-g2', group: 'g2', instruments: ['NSE:RELIANCE'] },
] as const;

export function demoRegistry(): string {
  const lines = ['# Written by supervisor/cluster-demo/topology.ts: one strategy per placement group.', 'strategies:'];
  for (const s of DEMO_STRATEGIES) {
    lines.push(
      `  - id: ${s.id}`,
      `    module: ${JSON.stringify(join(repoRoot, 'strategies', 'momentum', 'index.ts'))}`,
      '    venue: kite',
      `    instruments: [${s.instruments.join(', ')}]`,
      '    params: { runLength: 1, qty: 1, maxPosition: 3, slippage: 500, cooldownMs: 500 }',
      '    risk: { maxOrderQty: 5, maxOrderValue: 10000000, maxPosition: 10, maxOpenOrders: 6, priceBandBps: 500, ordersPerMinute: 240 }',
      '    killTriggers: { maxIntentsPer10s: 100 }',
      `    group: ${s.group}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** What `orch sim` prints on its first line (README, "The CLI"). */
const SimInfoSchema = z.object({
  kite: z.object({ rest: z.string().url(), ws: z.string().url(), apiKey: z.string().min(1), apiSecret: z.string().min(1), userId: z.string().min(1), accessToken: z.string().min(1) }),
});
export type SimInfo = z.infer<typeof SimInfoSchema>;

/**
 * A broker's host: its directory, its tap on the venue link, and its current process. A process
 * that fails (a non-zero exit, kill -9) is started again a second later, as systemd's
 * Restart=on-failure does on a real host (deploy/systemd/orch-broker.service, RestartSec=5s).
 */
export type BrokerHost = {
  name: string;
  dir: string;
  tap: VenueTap;
  metricsPort: number;
  process: OrchProcess;
  restarts: number;
  /** The process started after `previous` ended (resolves at once if there is one already). */
  restarted(previous: OrchProcess, timeoutMs?: number): Promise<OrchProcess>;
  /** Resolves once the host's broker (this process, or the one started after it failed) waits on the lease. */
  standby(timeoutMs?: number): Promise<OrchProcess>;
  /** Resolves once the host's broker (this process, or one started after it failed) holds the lease and is ready. */
  ready(timeoutMs?: number): Promise<OrchProcess>;
};

export type Topology = {
  dir: string;
  certs: Certs;
  cluster: NatsCluster;
  sim: { process: OrchProcess; info: SimInfo };
  /** The operator's user (for `orch events`, `orch status` and a watching connection). */
  operator: Credentials;
  brokers: BrokerHost[];
  strategyHosts: OrchProcess[];
  brokerByPid(pid: number): BrokerHost | undefined;
  stop(): Promise<void>;
};

export type TopologyOptions = {
  leaseTtlMs: number;
  /** Seed of the exchange's price path. */
  seed?: number;
  /** Where every process writes its log; a fresh temporary folder by default (kept by stop() only when given). */
  dir?: string;
  onStep?: (what: string) => void;
};


export async function startTopology(o: TopologyOptions): Promise<Topology> {
  const keepDir = o.dir !== undefined;
  const dir = o.dir ?? await mkdtemp(join(tmpdir(), 'orch-cluster-demo-'));
  await mkdir(join(dir, 'logs'), { recursive: true });
  const step = o.onStep ?? (() => undefined);
  const undo: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const f of undo.splice(0).reverse()) await f().catch(() => undefined);
    if (!keepDir) await rm(dir, { recursive: true, force: true });
  };
  try {
    const registry = join(dir, 'registry', 'strategies.yaml');
    await mkdir(join(dir, 'registry'), { recursive: true });
    await writeFile(registry, demoRegistry());

    step('starting users (orch nats-users) and a throwaway CA (deploy/nats/make-certs.sh)');
    // What `orch nats-users` writes, on the admin machine: authorization.conf for the nodes, passwords for the hosts.
    const auth = await writeNatsAuth({ stateDir: join(dir, 'admin', '.orch'), strategyIds: DEMO_STRATEGIES.map((s) => s.id), env: {} });
    const certs = await makeThrowawayCa();
    undo.push(() => rm(certs.dir, { recursive: true, force: true }));

    step('starting three nats-servers from deploy/nats/cluster.conf');
    const cluster = await startNatsCluster({ certs, authorization: await readFile(auth.authFile, 'utf8'), user: auth.credentials(BROKER) });
    undo.push(() => cluster.cleanup());
    const tls = { ORCH_NATS_CA: certs.caFile };

    step('starting the built-in exchange (orch sim)');
    await mkdir(join(dir, 'exchange'), { recursive: true });
    const simProcess = spawnOrch({ name: 'exchange', args: ['sim', '--seed', String(o.seed ?? 7), '--key-dir', join(dir, 'exchange', 'keys')], cwd: join(dir, 'exchange'), env: cleanEnv(), logFile: join(dir, 'logs', 'exchange.log') });
    undo.push(() => simProcess.stop());
    await simProcess.waitFor(/^\{"kite":.*\}$/m, 'its JSON line', 60_000);
    const info = SimInfoSchema.parse(JSON.parse(/^\{"kite":.*\}$/m.exec(simProcess.output())![0]));

    const brokers: BrokerHost[] = [];
    const brokerEnv = (tap: VenueTap): NodeJS.ProcessEnv => ({
      ...cleanEnv(), ...tls,
      // A real Kite account, as README "Real accounts" sets one up; the token is in .orch/kite-token.json.
      KITE_API_KEY: info.kite.apiKey, KITE_API_SECRET: info.kite.apiSecret, KITE_API_ROOT: tap.url, KITE_LOGIN_ROOT: info.kite.rest, KITE_WS_URL: info.kite.ws,
      [envVarFor(BROKER)]: auth.credentials(BROKER).pass,
      // `--role broker` connects an (empty) strategy supervisor too, as that user (docs/deploy.md, step 7).
      [envVarFor(SUPERVISOR)]: auth.credentials(SUPERVISOR).pass,
    });
    let stopping = false;
    const RESTART_MS = 1_000;
    const startBroker = (b: BrokerHost): OrchProcess => {
      const p = spawnOrch({
        name: b.name, cwd: b.dir, env: brokerEnv(b.tap), logFile: join(dir, 'logs', `${b.name}.log`),
        args: ['start', '--role', 'broker', '--config', registry, '--nats', cluster.urls, '--nats-replicas', '3', '--lease-ttl', String(o.leaseTtlMs), '--metrics-port', String(b.metricsPort), '--log-format', 'json', '--summary-interval', '0'],
      });
      b.process = p;
      void p.exited.then(() => {
        const failed = p.child.exitCode !== 0 && p.child.signalCode !== 'SIGTERM';
        if (!failed || stopping) return;
        setTimeout(() => {
          if (stopping) return;
          b.restarts++;
          o.onStep?.(`${b.name} ended (${p.child.exitCode ?? p.child.signalCode}); its host starts it again`);
          startBroker(b);
        }, RESTART_MS);
      });
      return p;
    };
    for (const name of ['broker-a', 'broker-b']) {
      const bdir = join(dir, name);
      // The day's session, where `orch login kite` stores it on this host.
      await writeTokenFile(join(bdir, '.orch', KITE_TOKEN_FILE), { accessToken: info.kite.accessToken, userId: info.kite.userId, expiresAt: nextKiteExpiry(Date.now()) });
      const tap = await startVenueTap(info.kite.rest);
      undo.push(() => tap.close());
      // Waits for `pattern` in the host's broker output, following it across restarts (a start that
      // failed, e.g. during a NATS election, is started again by the host).
      const following = async (pattern: RegExp, what: string, timeoutMs: number): Promise<OrchProcess> => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const p = host.process;
          try {
            await p.waitFor(pattern, what, Math.max(1, deadline - Date.now()));
            return p;
          } catch (e) {
            if (p.running() || Date.now() > deadline) throw e;
            await host.restarted(p, Math.max(1, deadline - Date.now()));
          }
        }
      };
      const host: BrokerHost = {
        name, dir: bdir, tap, metricsPort: await freePort(), process: undefined as unknown as OrchProcess, restarts: 0,
        restarted: async (previous, timeoutMs = 60_000) => {
          const deadline = Date.now() + timeoutMs;
          while (host.process === previous) {
            if (Date.now() > deadline) throw new Error(`${name} was not started again within ${timeoutMs} ms`);
            await new Promise((r) => setTimeout(r, 100));
          }
          return host.process;
        },
        standby: (timeoutMs = 120_000) => following(/waiting as standby/, 'standby', timeoutMs),
        ready: (timeoutMs = 120_000) => following(/broker ready/, 'the broker to be ready', timeoutMs),
      };
      brokers.push(host);
    }
    undo.push(async () => {
      stopping = true;
      for (const b of brokers) await b.process?.stop();
    });
    step('starting broker-a (orch start --role broker), then broker-b as its standby and the two strategy hosts (orch start --role strategies --group g1 / g2)');
    startBroker(brokers[0]!);
    await brokers[0]!.process.waitFor(/broker lease acquired/, 'the broker lease');
    // Started once the first holds the lease, so it waits as the standby.
    startBroker(brokers[1]!);
    const strategyHosts: OrchProcess[] = [];
    undo.push(async () => {
      for (const h of strategyHosts) await h.stop();
    });
    for (const group of GROUPS) {
      const hdir = join(dir, `strategies-${group}`);
      await mkdir(hdir, { recursive: true });
      // The supervisor's and its strategies' users only (docs/deploy.md, step 8): no venue variable.
      const env: NodeJS.ProcessEnv = { ...cleanEnv(), ...tls, [envVarFor(SUPERVISOR)]: auth.credentials(SUPERVISOR).pass };
      for (const s of DEMO_STRATEGIES.filter((x) => x.group === group)) env[envVarFor(strategyRole(s.id))] = auth.credentials(strategyRole(s.id)).pass;
      strategyHosts.push(spawnOrch({
        name: `strategies-${group}`, cwd: hdir, env, logFile: join(dir, 'logs', `strategies-${group}.log`),
        args: ['start', '--role', 'strategies', '--group', group, '--config', registry, '--nats', cluster.urls, '--metrics-port', String(await freePort()), '--log-format', 'json', '--summary-interval', '0'],
      }));
    }
    await Promise.all([
      brokers[0]!.process.waitFor(/orchestrator running/, 'the broker to run'),
      brokers[1]!.standby(),
      ...strategyHosts.map((h) => h.waitFor(/strategies running/, 'its strategies to run')),
    ]);

    return {
      dir, certs, cluster, sim: { process: simProcess, info }, operator: auth.credentials(OPERATOR), brokers, strategyHosts,
      brokerByPid: (pid) => brokers.find((b) => b.process.pid === pid),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
