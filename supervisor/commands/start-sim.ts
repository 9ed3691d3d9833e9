import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { writeFile, mkdir, rm } from 'node:fs/promises';
import { pino } from 'pino';
import { createLogger, type LogFormat } from '../../actors/logger.ts';
import { systemClock } from '../../actors/clock.ts';
import { logShutdownSummary, startConsoleSummary } from '../console-summary.ts';
import { loadDotEnv, takeSecrets } from '../secrets.ts';
import { loadPrivateKey } from '../../broker/kalshi/signing.ts';
import type { KalshiAccount } from '../venues/kalshi.ts';
import { startSystem } from '../system.ts';
import { startKiteSim } from '../../exchanges/kite/index.ts';
import { startKalshiSim } from '../../exchanges/kalshi/index.ts';
import { intArg } from './args.ts';
import type { Logger } from 'pino';
import { groupFrom, roleFrom } from '../placement.ts';
import { STRATEGIES_METRICS_PORT } from '../strategies-host.ts';
import { readAllowList, startStrategiesProcess } from '../strategies-process.ts';
import { keepStrategiesProcess, type KeptStrategies } from '../strategies-keeper.ts';
import type { SummarySource } from '../console-summary.ts';
import { storedNatsAuth, SUPERVISOR, type Credentials, type Role as NatsRole } from '../nats-auth.ts';
import { replicasFrom } from '../../broker/replicas.ts';
import { natsPidFile, stopLeftover } from '../nats-launcher.ts';
import { acquireInstanceLock, InstanceLockedError, PortInUseError, type InstanceLock } from '../instance-lock.ts';
import { PortClashError, probeStartPorts, startBindings } from '../start-ports.ts';
import { kalshiAccountFromEnv } from '../venues/kalshi.ts';
import { kiteEnvSettings } from '../venues/kite.ts';

export const START_OPTIONS = {
  config: { type: 'string' }, nats: { type: 'string' }, 'nats-port': { type: 'string' }, 'nats-replicas': { type: 'string' },
  role: { type: 'string' }, group: { type: 'string' }, 'strategies-in-broker-process': { type: 'boolean' }, 'strategies-metrics-port': { type: 'string' },
  'metrics-port': { type: 'string' }, 'metrics-host': { type: 'string' }, 'lease-ttl': { type: 'string' },
  'log-format': { type: 'string' }, 'summary-interval': { type: 'string' },
} as const;

/** Readable lines on a terminal, JSON otherwise (a pipe, a file, journald, Docker's log driver); `--log-format` decides. */
export function logFormatOf(flag: string | undefined, env: NodeJS.ProcessEnv, isTTY: boolean): LogFormat {
  const v = flag ?? env.ORCH_LOG_FORMAT;
  if (v === undefined) return isTTY ? 'pretty' : 'json';
  if (v === 'json' || v === 'pretty') return v;
  throw new Error(`--log-format must be json or pretty, got "${v}"`);
}

export async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: START_OPTIONS, strict: true });
  loadDotEnv(join(process.cwd(), '.env'));
  // The secrets leave process.env here: start-up reads them from this copy, and nothing that
  // runs later (a strategy module, a worker) finds them in the environment.
  const env = takeSecrets(process.env);
  const format = logFormatOf(values['log-format'], env, process.stdout.isTTY === true);
  const color = format === 'pretty' && process.stdout.isTTY === true && !env.NO_COLOR;
  const log = createLogger({ name: 'orch', format, color });
  // Inside a container the published port must reach the listener: ORCH_METRICS_HOST=0.0.0.0 (docs/deploy.md).
  const metricsHost = values['metrics-host'] ?? env.ORCH_METRICS_HOST ?? '127.0.0.1';
  const summaryMs = intArg(values['summary-interval'], 'summary-interval', format === 'pretty' ? 5_000 : 60_000);
  const natsUrl = values.nats ?? env.NATS_URL;
  const role = roleFrom(values.role);
  const group = groupFrom(values.group);
  if (group !== undefined && role !== 'strategies') throw new Error('--group is for --role strategies: a broker serves every group');
  const leaseTtlArg = values['lease-ttl'] ?? env.ORCH_LEASE_TTL_MS;
  if (leaseTtlArg !== undefined && role === 'strategies') throw new Error('--lease-ttl is for a broker (--role all or broker): a strategies process holds no lease');
  const leaseTtlMs = intArg(leaseTtlArg, 'lease-ttl', 10_000);
  if (leaseTtlMs < 1_000) throw new Error(`--lease-ttl must be at least 1000 ms (a renewal every third of it), got ${leaseTtlMs}`);
  const inBrokerProcess = values['strategies-in-broker-process'] === true;
  if (inBrokerProcess && role !== 'all') throw new Error('--strategies-in-broker-process is for --role all: --role strategies always runs restricted, --role broker runs no strategy');
  // --role all: the broker here, the strategies in a permission-restricted process of their own (docs/deploy.md).
  const twoProcesses = role === 'all' && !inBrokerProcess;
  if (!twoProcesses && values['strategies-metrics-port'] !== undefined) throw new Error(`--strategies-metrics-port is for --role all with the strategies in a process of their own${inBrokerProcess ? ' (with --strategies-in-broker-process they report on --metrics-port)' : ' (with --role strategies: --metrics-port)'}`);
  if (role === 'strategies') {
    const metricsPort = intArg(values['metrics-port'], 'metrics-port', STRATEGIES_METRICS_PORT);
    return runStrategiesHost({ configFile: values.config ?? join(process.cwd(), 'config', 'strategies.yaml'), natsUrl, group, env, log, format, color, metricsPort, metricsHost });
  }
  // KALSHI_KEY_ID set = the real Kalshi account; otherwise the built-in exchange.
  const kalshi = withLoadedKey(kalshiAccountFromEnv(env), env);
  const paper = !kalshi && kiteEnvSettings(env) === undefined;
  const stateDir = join(process.cwd(), '.orch');
  const metricsPort = intArg(values['metrics-port'], 'metrics-port', 9464);
  const natsPort = intArg(values['nats-port'], 'nats-port', 4222);
  const strategiesMetricsPort = twoProcesses ? intArg(values['strategies-metrics-port'], 'strategies-metrics-port', STRATEGIES_METRICS_PORT) : undefined;
  const configFile = values.config ?? join(process.cwd(), 'config', 'strategies.yaml');
  // A registry or module folder that holds a secret is refused before anything starts (SecretInReachError, exit 2).
  if (twoProcesses) await readAllowList({ configFile, secrets: secretPaths(stateDir, env), extra: [], log: log.child({}, { level: 'silent' }) });
  else if (inBrokerProcess) log.warn('--strategies-in-broker-process: the strategies run in the broker\'s process, where a strategy can read every file it can (the Kite token, the NATS passwords, the .env, a Kalshi key) and start processes (docs/deploy.md)');
  // 3 on the cluster of deploy/nats/: every event and kill level on every node (docs/deploy.md).
  const natsReplicas = replicasFrom(values['nats-replicas'] ?? env.ORCH_NATS_REPLICAS, values['nats-replicas'] !== undefined ? '--nats-replicas' : 'ORCH_NATS_REPLICAS');
  // Before anything is stopped, wiped or bound: one orch per state directory, and every port free.
  let lock: InstanceLock;
  try {
    lock = await acquireInstanceLock(stateDir);
  } catch (e) {
    if (!(e instanceof InstanceLockedError)) throw e;
    log.error({ holderPid: e.owner.pid, since: e.owner.startedAt, lock: e.file }, e.message); // `pid` is this process's, on every line
    return 1;
  }
  try {
    await probeStartPorts(startBindings({ metricsPort, metricsHost, natsPort: natsUrl ? undefined : natsPort, strategiesMetricsPort, env }));
  } catch (e) {
    await lock.release();
    if (e instanceof PortInUseError) log.error({ port: e.port, host: e.host, setting: e.key }, e.message);
    else if (e instanceof PortClashError) log.error({ port: e.port, settings: e.keys }, e.message);
    else throw e;
    return 1;
  }
  log.info({ lock: lock.file }, 'state directory locked for this run'); // every line carries the pid already
  if (paper && !natsUrl) {
    // The built-in exchanges start empty every run, so the log and kill state of an earlier
    // paper run describe orders that no longer exist: start those fresh too. Live state is never wiped.
    await stopLeftover(natsPidFile(stateDir)); // a crashed run's server would still hold the store
    await rm(join(stateDir, 'nats', 'js'), { recursive: true, force: true });
    log.info('paper trading: fresh event log and kill state for the fresh built-in exchanges');
  }
  // Signals that arrive while starting are honoured once start-up completes; a second one aborts.
  let signalled: string | undefined;
  let exitCode = 0;
  let wake: (() => void) | undefined;
  const onSignal = (signal: string) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: aborting');
      process.exit(130);
    }
    signalled = signal;
    log.info({ signal }, 'stopping: strategies in reverse order, then the broker, then NATS');
    wake?.();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  const natsAuth = natsUrl ? await storedNatsAuth(stateDir, env) : undefined;
  const sys = await startSystem({
    stateDir,
    configFile,
    log,
    ...(natsUrl ? { natsUrl } : {}),
    // A NATS this process did not start: the users `orch nats-users` made (docs/deploy.md).
    ...(natsAuth ? { natsAuth } : {}),
    // Two processes: this one is the broker, and the strategies run in a restricted process of their own.
    role: twoProcesses ? 'broker' : role,
    ...(kalshi ? { kalshi } : {}),
    metricsPort,
    natsPort,
    natsReplicas,
    leaseTtlMs,
    metricsHost,
    logFormat: format,
    ...(color ? { logColor: true } : {}),
    // KITE_API_KEY + KITE_API_SECRET select the live account (its token from `orch login kite`,
    // or the opt-in web login with KITE_AUTO_LOGIN=totp); none = paper trading.
    env,
  }).catch(async (e: unknown) => {
    await lock.release();
    throw e;
  });
  let strategies: KeptStrategies | undefined;
  if (twoProcesses && !signalled) {
    const launch = () => startStrategiesProcess({
      configFile, natsUrl: sys.natsUrl, log, logFormat: format, env, metricsHost, metricsPort: strategiesMetricsPort!,
      secrets: secretPaths(stateDir, env),
      ...(color ? { logColor: true } : {}),
      ...(env.ORCH_NATS_CA ? { natsCaFile: env.ORCH_NATS_CA } : {}),
      ...(sys.natsAuth ? { credentials: systemCredentials(sys.natsAuth.credentials(SUPERVISOR), sys.strategyCredentials) } : {}),
    });
    const first = await launch().catch(async (e: unknown) => {
      await sys.stop();
      await lock.release();
      throw e;
    });
    try {
      await Promise.race([first.running, new Promise<void>((r) => { wake = r; })]);
    } catch (e) {
      await first.stop();
      await sys.stop();
      await lock.release();
      throw e;
    }
    // Ended without being asked: started again under the registry's restart intensity; past it, the run ends.
    strategies = keepStrategiesProcess(first, { restart: launch, intensity: () => sys.reloader.current().restartIntensity, clock: systemClock, log });
    void strategies.gaveUp.then(() => {
      if (signalled) return;
      exitCode = 1;
      onSignal('strategies process gave up');
    });
  }
  if (role === 'broker') {
    // A fenced broker never writes to a venue again, and would never trade again either: it ends,
    // so its host restarts it (systemd's Restart=on-failure) and it waits on the lease as the standby.
    sys.onFenced((reason) => {
      log.error({ reason }, 'broker fenced: it lost its lease; stopping so that its host restarts it as the standby (exit 1)');
      exitCode = 1;
      onSignal('fenced');
    });
  }
  log.info({ nats: sys.natsUrl, metrics: sys.metricsUrl, strategies: sys.config.strategies.map((s) => s.id), paper, ...(strategies ? { strategiesPid: strategies.current().pid, strategiesMetrics: strategies.current().metricsUrl() } : {}) }, 'orchestrator running; Ctrl-C to stop');
  const summarySource = strategies ? strategiesStatusOf(sys.summarySource, sys.reloader, strategies) : sys.summarySource;
  const summary = summaryMs > 0 ? startConsoleSummary({ source: summarySource, log: log.child({ actor: 'summary' }), clock: systemClock, intervalMs: summaryMs }) : undefined;
  if (!signalled) await new Promise<void>((resolve) => { wake = resolve; });
  summary?.stop();
  await strategies?.stop();
  await sys.stop();
  await lock.release();
  // After the stop: the strategies' last cancels are in, and the figures are final.
  logShutdownSummary(summarySource(), log.child({ actor: 'summary' }));
  log.info('stopped');
  return exitCode;
}

/** The console summary of the broker process, with each strategy's state as the strategies process reports it. */
function strategiesStatusOf(source: () => SummarySource, reloader: { current(): { strategies: readonly { id: string; venue: SummarySource['strategies'][number]['venue']; enabled: boolean }[] } }, strategies: KeptStrategies): () => SummarySource {
  return () => ({
    ...source(),
    strategies: reloader.current().strategies.filter((s) => s.enabled || strategies.status(s.id) !== undefined)
      .map((s) => ({ id: s.id, venue: s.venue, status: strategies.status(s.id) ?? 'not started' })),
  });
}

/**
 * `orch start --role strategies`: this host's placement group against the broker's NATS. No
 * state-directory lock (several groups may run on one host) and no venue: it holds no venue
 * secret, and binds only its own /metrics (--metrics-port, default 9465; give each group on one
 * host its own).
 */
async function runStrategiesHost(o: { configFile: string; natsUrl: string | undefined; group: string | undefined; env: NodeJS.ProcessEnv; log: Logger; format: LogFormat; color: boolean; metricsPort: number; metricsHost: string }): Promise<number> {
  if (!o.natsUrl) throw new Error('--role strategies needs --nats (or NATS_URL): the NATS the broker uses');
  const stateDir = join(process.cwd(), '.orch');
  const natsAuth = await storedNatsAuth(stateDir, o.env);
  const stop = signalled(o.log);
  // The strategies run in a process of their own under Node's permission model; this one only
  // answers it the supervisor's and the strategies' NATS users and waits.
  const child = await startStrategiesProcess({
    configFile: o.configFile, natsUrl: o.natsUrl, log: o.log, logFormat: o.format, env: o.env, metricsPort: o.metricsPort, metricsHost: o.metricsHost,
    secrets: secretPaths(stateDir, o.env),
    ...(o.group !== undefined ? { group: o.group } : {}),
    ...(natsAuth ? { credentials: (role: NatsRole) => natsAuth.credentials(role) } : {}),
    ...(o.env.ORCH_NATS_CA ? { natsCaFile: o.env.ORCH_NATS_CA } : {}),
    ...(o.color ? { logColor: true } : {}),
  });
  const ended = await Promise.race([stop.then(() => undefined), child.exited.then((code) => ({ code }))]);
  await child.stop();
  if (ended) {
    o.log.error({ exit: ended.code }, 'the strategies process ended');
    return 1;
  }
  o.log.info('stopped');
  return 0;
}

/** What the restricted strategies process must not read (docs/deploy.md): the state directory (Kite token, NATS passwords), the .env, the Kalshi key. */
function secretPaths(stateDir: string, env: NodeJS.ProcessEnv): string[] {
  return [stateDir, join(process.cwd(), '.env'), ...(env.KALSHI_PRIVATE_KEY_PATH ? [env.KALSHI_PRIVATE_KEY_PATH] : [])];
}

/** The supervisor's and the strategies' users of this process's own server: nobody else's. */
function systemCredentials(supervisor: Credentials, strategy: ((spec: { id: string }) => Promise<Credentials>) | undefined) {
  return async (role: NatsRole): Promise<Credentials> => {
    if (role.kind === 'supervisor') return supervisor;
    if (role.kind === 'strategy' && strategy) return strategy({ id: role.strategyId });
    throw new Error(`the strategies process gets no ${role.kind} credentials`);
  };
}

/** Resolves at the first SIGINT/SIGTERM; a second one aborts. */
function signalled(log: Logger): Promise<string> {
  return new Promise((resolve) => {
    let got: string | undefined;
    const on = (signal: string) => {
      if (got) {
        log.warn({ signal }, 'second signal: aborting');
        process.exit(130);
      }
      got = signal;
      log.info({ signal }, 'stopping: strategies in reverse order');
      resolve(signal);
    };
    process.on('SIGINT', () => on('SIGINT'));
    process.on('SIGTERM', () => on('SIGTERM'));
  });
}

/** A PEM given in KALSHI_PRIVATE_KEY is read now, while start-up still holds the copy of the environment. */
function withLoadedKey(account: KalshiAccount | undefined, env: NodeJS.ProcessEnv): KalshiAccount | undefined {
  if (!account || !('env' in account.privateKey)) return account;
  return { ...account, privateKey: loadPrivateKey(account.privateKey, env) };
}

export async function sim(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, 'kalshi-port': { type: 'string' }, seed: { type: 'string' }, 'key-dir': { type: 'string' } }, strict: true });
  // stdout carries exactly one JSON line for scripts; logs go to stderr.
  const log = createLogger({ name: 'orch-sim', destination: pino.destination(2) });
  const seed = intArg(values.seed, 'seed', 42);
  const kite = await startKiteSim({ port: intArg(values.port, 'port', 0), seed, logger: log.child({ actor: 'sim:kite' }) });
  const keyDir = values['key-dir'] ?? join(process.cwd(), '.orch', 'sim');
  await mkdir(keyDir, { recursive: true, mode: 0o700 });
  const kalshi = await startKalshiSim({ port: intArg(values['kalshi-port'], 'kalshi-port', 0), seed, keyDir });
  const info = {
    kite: { rest: kite.restUrl, ws: kite.wsUrl, login: kite.loginUrl, ...kite.credentials, accessToken: kite.issueAccessToken() },
    kalshi: { rest: kalshi.restUrl, ws: kalshi.wsUrl, keyId: kalshi.keyId, privateKeyPath: kalshi.privateKeyPath },
  };
  // The demo account is the simulator's own, created for this run: printing it is the point.
  process.stdout.write(`${JSON.stringify(info)}\n`);
  await writeFile(join(keyDir, 'sim.json'), JSON.stringify(info), { mode: 0o600 });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await kite.close();
  await kalshi.close();
  return 0;
}
