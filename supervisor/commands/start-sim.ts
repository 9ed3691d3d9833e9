import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { writeFile, mkdir } from 'node:fs/promises';
import { pino } from 'pino';
import { createLogger } from '../../actors/logger.ts';
import { loadDotEnv } from '../secrets.ts';
import { startSystem } from '../system.ts';
import { startKiteSim } from '../../broker/sim/kite/index.ts';
import { startKalshiSim } from '../../broker/sim/kalshi/index.ts';
import { intArg } from './args.ts';
import { kalshiAccountFromEnv } from '../venues/kalshi.ts';

export async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, nats: { type: 'string' }, 'metrics-port': { type: 'string' } }, strict: true });
  loadDotEnv(join(process.cwd(), '.env'));
  const log = createLogger({ name: 'orch' });
  const natsUrl = values.nats ?? process.env.NATS_URL;
  // KALSHI_KEY_ID set = the real Kalshi account; otherwise the built-in exchange.
  const kalshi = kalshiAccountFromEnv(process.env);
  const sys = await startSystem({
    configFile: values.config ?? join(process.cwd(), 'config', 'strategies.yaml'),
    log,
    ...(natsUrl ? { natsUrl } : {}),
    ...(kalshi ? { kalshi } : {}),
    metricsPort: intArg(values['metrics-port'], 'metrics-port', 9464),
    // KITE_* credentials select the live account (TOTP login); none = paper trading.
    env: process.env,
  });
  log.info({ nats: sys.natsUrl, metrics: sys.metricsUrl, strategies: sys.config.strategies.map((s) => s.id) }, 'orchestrator running; Ctrl-C to stop');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping: strategies in reverse order, then the broker, then NATS');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await sys.stop();
  log.info('stopped');
  return 0;
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
