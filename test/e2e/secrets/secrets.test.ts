import { freePort } from '../../support/wait.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.ts';
import { fixture, eventually, repoRoot } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { workspace, capturingLogger, type Workspace } from '../../support/reload-workspace.ts';
import { orch } from '../../support/run-cli.ts';
import { startKiteSim, type KiteSim } from '../../../exchanges/kite/index.ts';
import { startKalshiSim, type KalshiSim } from '../../../exchanges/kalshi/index.ts';
import { startSystem } from '../../../supervisor/system.ts';
import { kalshiAccountFromEnv } from '../../../supervisor/venues/kalshi.ts';

/**
 * The whole system runs with known secret values — a live-mode Kite login (api secret,
 * password, TOTP secret, the access token it gets), per-role NATS passwords, a Kalshi private
 * key — against the built-in exchanges, and none of them may appear in a log line, a metric,
 * a CLI answer or an error message.
 */
// Made for this run: no secret-looking value lives in the repo.
const made = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const SECRETS = {
  KITE_API_SECRET: made('kite-secret-'),
  KITE_PASSWORD: made('kite-pw-'),
  KITE_TOTP_SECRET: [...randomBytes(32)].map((b) => BASE32[b % 32]).join(''),
  ORCH_NATS_OPERATOR_PASSWORD: made('nats-operator-'),
  ORCH_NATS_SUPERVISOR_PASSWORD: made('nats-supervisor-'),
  ORCH_NATS_BROKER_PASSWORD: made('nats-broker-'),
  ORCH_NATS_STRATEGY_KITE_WATCH_PASSWORD: made('nats-strategy-'),
  ORCH_NATS_STRATEGY_KALSHI_WATCH_PASSWORD: made('nats-strategy-'),
};
const USER = 'ZS4242';
const API_KEY = 'kiteapikey0000001';

let kite: KiteSim;
let kalshi: KalshiSim;
let pem: string;
let ws: Workspace;

before(async () => {
  kite = await startKiteSim({ seed: 7, tickIntervalMs: 100, credentials: { apiKey: API_KEY, apiSecret: SECRETS.KITE_API_SECRET, userId: USER, password: SECRETS.KITE_PASSWORD, totpSecret: SECRETS.KITE_TOTP_SECRET } });
  kalshi = await startKalshiSim({ seed: 7 });
  pem = await readFile(kalshi.privateKeyPath, 'utf8');
  ws = await workspace();
  await writeFile(ws.config, renderRegistry([
    { id: 'kite-watch', module: fixture('recorder'), instruments: ['NSE:INFY'], risk: { maxOrderQty: 5, maxOrderValue: 100_000_000, maxPosition: 10, maxOpenOrders: 3 } },
    { id: 'kalshi-watch', module: fixture('recorder'), venue: 'kalshi', instruments: [kalshi.markets[0]!], risk: { maxOrderQty: 500, maxOrderValue: 100_000_000, maxPosition: 1000, maxOpenOrders: 3 } },
  ]));
});

after(async () => {
  await kite?.close();
  await kalshi?.close();
  await ws?.cleanup();
});

function liveEnv(): Record<string, string> {
  return {
    ...SECRETS,
    KITE_API_KEY: API_KEY, KITE_USER_ID: USER, KITE_AUTO_LOGIN: 'totp',
    KITE_API_ROOT: kite.restUrl, KITE_LOGIN_ROOT: kite.restUrl, KITE_WS_URL: kite.wsUrl,
    KALSHI_KEY_ID: kalshi.keyId, KALSHI_REST_URL: kalshi.restUrl, KALSHI_WS_URL: kalshi.wsUrl,
  };
}

/** Each secret, and each line of the PEM body, that occurs in `text`. */
function leaks(text: string, extra: Record<string, string> = {}): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries({ ...SECRETS, ...extra })) if (text.includes(value)) found.push(name);
  for (const line of pem.split('\n')) if (line.length >= 40 && !line.startsWith('-----') && text.includes(line)) found.push('KALSHI_PRIVATE_KEY');
  return [...new Set(found)];
}

test('with live credentials, per-role NATS passwords and a Kalshi key, no secret reaches a log line, a metric, a CLI answer or an error', async () => {
  const env = { ...liveEnv(), KALSHI_PRIVATE_KEY: pem };
  // NATS passwords and the PEM are read from the process environment, as in production.
  Object.assign(process.env, env);
  const { log, lines } = capturingLogger();
  const stateDir = join(ws.dir, 'state-a');
  const sys = await startSystem({
    configFile: ws.config, log, stateDir, natsPort: await freePort(), metricsPort: 0, logLevel: 'silent', hotReload: false,
    env, kalshi: kalshiAccountFromEnv(env)!,
  });
  const outputs: string[] = [];
  let accessToken = '';
  try {
    // The live login really happened: the session manager cached the token it was given.
    accessToken = (JSON.parse(await readFile(join(stateDir, 'kite-token.json'), 'utf8')) as { accessToken: string }).accessToken;
    assert.ok(accessToken.length >= 16);
    await eventually(async () => (await sys.supervisor.view()).every((a) => a.status === 'running'), 'both strategies running on their own NATS users');
    outputs.push(await (await fetch(sys.metricsUrl!)).text());
    // The operator's CLI, with the operator password from the environment.
    const cliEnv = { ORCH_NATS_OPERATOR_PASSWORD: SECRETS.ORCH_NATS_OPERATOR_PASSWORD };
    const status = await orch(['status', '--json', '--nats', sys.natsUrl, '--state-dir', stateDir], { env: cliEnv });
    assert.equal(status.code, 0, status.stderr);
    outputs.push(status.stdout, status.stderr);
    // Error paths: a wrong password, and a registry refused on reload.
    const denied = await orch(['status', '--nats', sys.natsUrl, '--state-dir', stateDir], { env: { ORCH_NATS_OPERATOR_PASSWORD: 'wrong-operator-password-123' } });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /cannot reach NATS/);
    assert.ok(!denied.stderr.includes('wrong-operator-password-123'), 'the rejected password is not echoed');
    outputs.push(denied.stdout, denied.stderr);
    await writeFile(ws.config, `${await readFile(ws.config, 'utf8')}  - id: bad\n`);
    const refused = await orch(['reload', '--nats', sys.natsUrl, '--state-dir', stateDir], { env: cliEnv });
    assert.equal(refused.code, 1);
    outputs.push(refused.stdout, refused.stderr);
  } finally {
    await writeFile(ws.config, (await readFile(ws.config, 'utf8')).replace('  - id: bad\n', ''));
    await sys.stop();
    for (const k of Object.keys(env)) delete process.env[k];
  }
  // The code that handles the secrets did log: the login, the session, the refused reload.
  const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  for (const m of ['kite login', 'kite session ready', 'registry refused: running strategies unchanged']) assert.ok(msgs.includes(m), `logged "${m}"`);
  const token = { KITE_ACCESS_TOKEN: accessToken };
  assert.deepEqual(leaks(lines.join('\n'), token), [], 'secrets in log lines');
  assert.deepEqual(leaks(outputs.join('\n'), token), [], 'secrets in metrics or CLI output');
});

/** `orch start` in a child process, its output collected. */
function startChild(cwd: string, args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const env: NodeJS.ProcessEnv = { ...process.env, ORCH_LOG_LEVEL: 'info' };
  delete env.NATS_URL;
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'orch.js'), 'start', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return { child, output: () => out, exited };
}

test('orch start with a 0600 .env of live secrets logs none of them, from the main thread or the workers', async () => {
  const dir = join(ws.dir, 'run-b');
  await mkdir(dir, { recursive: true });
  const dotenv = Object.entries({ ...liveEnv(), KALSHI_PRIVATE_KEY_PATH: kalshi.privateKeyPath }).map(([k, v]) => `${k}=${v}`).join('\n');
  await writeFile(join(dir, '.env'), `${dotenv}\n`, { mode: 0o600 });
  const nats: NatsServerHandle = await startNatsServer();
  const run = startChild(dir, ['--config', ws.config, '--nats', nats.url, '--metrics-port', '0', '--strategies-metrics-port', '0']);
  const outputs: string[] = [];
  try {
    // The strategies (their workers' series) report on the strategies process's /metrics, the broker on its own.
    const metricsOf = (msg: string) => /"metrics":"(http:[^"]+)"/.exec(run.output().split('\n').find((l) => l.includes(`"msg":"${msg}"`)) ?? '')?.[1];
    const metricsUrl = await eventually(() => metricsOf('strategies running; Ctrl-C to stop'), 'the strategies process to report its metrics URL', 60_000);
    const brokerMetricsUrl = await eventually(() => metricsOf('orchestrator running; Ctrl-C to stop'), 'orch start to report its metrics URL', 30_000);
    outputs.push(await (await fetch(brokerMetricsUrl)).text());
    await eventually(async () => {
      const r = await orch(['status', '--json', '--nats', nats.url, '--state-dir', dir]);
      const j = JSON.parse(r.stdout) as { supervisor?: { actors: { status: string }[] } };
      outputs.push(r.stdout, r.stderr);
      return j.supervisor?.actors.length === 2 && j.supervisor.actors.every((a) => a.status === 'running');
    }, 'the strategies to run', 30_000);
    // Worker metrics are forwarded every 2 s; scrape after at least one round.
    outputs.push(await eventually(async () => {
      const body = await (await fetch(metricsUrl)).text();
      return /orch_event_loop_lag_seconds\{actor="kite-watch"\}/.test(body) ? body : undefined;
    }, 'worker metrics in the scrape'));
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.output().slice(-2000));
  } finally {
    run.child.kill('SIGKILL');
    await nats.cleanup();
  }
  const token = (JSON.parse(await readFile(join(dir, '.orch', 'kite-token.json'), 'utf8')) as { accessToken: string }).accessToken;
  const log = run.output();
  assert.match(log, /"strategy:kite-watch"/, 'the workers\' log lines are in the output too');
  assert.deepEqual(leaks(log, { KITE_ACCESS_TOKEN: token }), [], 'secrets in orch start output');
  assert.deepEqual(leaks(outputs.join('\n'), { KITE_ACCESS_TOKEN: token }), [], 'secrets in metrics or status');
});

test('orch start refuses a .env that others can read, says how to fix it, and echoes no secret', async () => {
  const dir = join(ws.dir, 'run-c');
  await mkdir(dir, { recursive: true });
  const file = join(dir, '.env');
  await writeFile(file, `KITE_API_SECRET=${SECRETS.KITE_API_SECRET}\nKITE_PASSWORD=${SECRETS.KITE_PASSWORD}\n`);
  await chmod(file, 0o644);
  const r = await orch(['start', '--config', ws.config, '--nats', 'nats://127.0.0.1:1'], { cwd: dir });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `orch: ${file} is readable by other users (mode 644); run: chmod 600 ${file}\n`);
  assert.deepEqual(leaks(r.stdout + r.stderr), []);
});
