import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer } from '../../support/nats-server.ts';
import { spec, fixture, eventually } from '../../support/specs.ts';
import { StrategyHost } from '../../../supervisor/actor-host.ts';
import { takeSecrets } from '../../../supervisor/secrets.ts';
import { connectBus } from '../../../actors/bus.ts';
import { answerStrategyState } from '../../support/broker-state.ts';
import { StrategyEntrySchema, type StrategySpec } from '../../../config/registry.ts';

/**
 * A strategy's worker gets the environment its registry entry passes and nothing else: once a
 * strategy read KITE_API_SECRET, the password, the TOTP secret and the NATS passwords from its
 * worker's process.env, and called the venue with them past the broker.
 */
// Made for this run: no secret-looking value lives in the repo.
const made = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;
const SECRETS = {
  KITE_API_SECRET: made('kite-secret-'),
  KITE_PASSWORD: made('kite-pw-'),
  KITE_TOTP_SECRET: made('TOTP').toUpperCase(),
  KITE_ACCESS_TOKEN: made('kite-token-'),
  KALSHI_PRIVATE_KEY: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  ORCH_NATS_BROKER_PASSWORD: made('nats-broker-'),
  ORCH_NATS_OPERATOR_PASSWORD: made('nats-operator-'),
};

async function seenBy(t: { after: (fn: () => Promise<void>) => void }, over: Partial<StrategySpec>): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'orch-env-'));
  const nats = await startNatsServer();
  // What the broker answers a starting strategy (its positions and open orders).
  const nc = await connectBus({ servers: nats.url, name: 'broker-state' });
  answerStrategyState(nc);
  const out = join(dir, 'env.json');
  const host = new StrategyHost(spec('spy', { module: fixture('env-spy'), params: { out }, ...over }), { natsUrl: nats.url, logLevel: 'silent' });
  t.after(async () => {
    await host.stop();
    await nc.close();
    await nats.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  await host.start();
  return eventually(async () => JSON.parse(await readFile(out, 'utf8').catch(() => 'null')) as Record<string, string> | null ?? undefined, 'the strategy to write what it sees');
}

test('a strategy in a real worker that reads process.env finds no secret, only what its entry passes', async (t) => {
  Object.assign(process.env, SECRETS, { SPY_MODE: 'from-parent' });
  t.after(() => { for (const k of [...Object.keys(SECRETS), 'SPY_MODE']) delete process.env[k]; });
  const seen = await seenBy(t, { env: { STRATEGY_MODE: 'paper' } });
  assert.deepEqual(seen, { STRATEGY_MODE: 'paper' });
  for (const v of Object.values(SECRETS)) assert.ok(!JSON.stringify(seen).includes(v));
});

test('an entry listing names gets those from the supervisor environment, and no entry gets an empty environment', async (t) => {
  Object.assign(process.env, SECRETS, { SPY_MODE: 'from-parent' });
  t.after(() => { for (const k of [...Object.keys(SECRETS), 'SPY_MODE']) delete process.env[k]; });
  assert.deepEqual(await seenBy(t, { env: ['SPY_MODE', 'NOT_SET_ANYWHERE'] }), { SPY_MODE: 'from-parent' });
});

test('with no env entry, the worker environment is empty', async (t) => {
  Object.assign(process.env, SECRETS);
  t.after(() => { for (const k of Object.keys(SECRETS)) delete process.env[k]; });
  assert.deepEqual(await seenBy(t, {}), {});
});

test('the registry refuses an env entry naming a secret, by field', () => {
  const entry = { id: 'a', module: 'a.ts', venue: 'kite', instruments: ['NSE:INFY'], risk: { maxOrderQty: 1, maxOrderValue: 1, maxPosition: 1, maxOpenOrders: 1 } };
  for (const env of [['KITE_API_SECRET'], { ORCH_NATS_BROKER_PASSWORD: 'x' }]) {
    const r = StrategyEntrySchema.safeParse({ ...entry, env });
    assert.equal(r.success, false);
    assert.match(r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), /env\.\S*: .*never gets it|env: .*never gets it/);
  }
  assert.equal(StrategyEntrySchema.safeParse({ ...entry, env: { MODE: 'x' } }).success, true);
});

test('secrets leave process.env once read: the start-up copy keeps them, the environment does not', () => {
  const strategyPw = made('nats-strategy-');
  const env: NodeJS.ProcessEnv = { ...SECRETS, ORCH_NATS_STRATEGY_A_PASSWORD: strategyPw, KITE_API_KEY: 'kiteapikey0000001', PATH: '/bin' };
  const copy = takeSecrets(env);
  assert.deepEqual(env, { KITE_API_KEY: 'kiteapikey0000001', PATH: '/bin' });
  assert.equal(copy.KITE_API_SECRET, SECRETS.KITE_API_SECRET);
  assert.equal(copy.ORCH_NATS_STRATEGY_A_PASSWORD, strategyPw);
});
