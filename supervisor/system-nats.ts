import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { connectBus } from '../actors/bus.ts';
import type { Teardown } from '../actors/teardown.ts';
import { BROKER, repoNatsConf, writeNatsAuth, type NatsAuth, type NatsAuthOptions } from './nats-auth.ts';
import { describeDurability } from './nats-durability.ts';
import { launchNatsServer, natsPidFile, type NatsProcess } from './nats-launcher.ts';
import type { KiteEnv } from './venues/kite.ts';

export type SystemNats = {
  natsUrl: string;
  /** The server this process started, if it did. */
  nats: NatsProcess | undefined;
  /** The generated users, when the server enforces permissions. */
  natsAuth: NatsAuth | undefined;
  authOptions: NatsAuthOptions | undefined;
  /** The broker's automation connection (the kill store, the lease, the services), as the broker user. */
  control: NatsConnection;
};

/**
 * The system's NATS: the server given by `natsUrl`, or one started from nats.conf whose
 * generated users enforce who may publish what (one per role and per strategy); then the control
 * connection, and a log line saying which guarantee an acknowledged event has.
 */
export async function startSystemNats(o: {
  log: Logger; stateDir: string; strategyIds: string[]; undo: Teardown;
  natsUrl?: string; natsAuth?: NatsAuth; natsConfigFile?: string; natsPort?: number; env?: KiteEnv;
}): Promise<SystemNats> {
  let natsUrl = o.natsUrl;
  let nats: NatsProcess | undefined;
  let natsAuth = o.natsAuth;
  let authOptions: NatsAuthOptions | undefined;
  if (!natsUrl) {
    // ORCH_NATS_*_PASSWORD from the environment copy `orch start` took (supervisor/secrets.ts takeSecrets): no longer in process.env.
    const storeDir = join(o.stateDir, 'nats', 'js');
    authOptions = { stateDir: o.stateDir, strategyIds: o.strategyIds, storeDir, ...(o.natsConfigFile ? { baseConfig: o.natsConfigFile } : {}), ...(o.env ? { env: o.env } : {}) };
    natsAuth = await writeNatsAuth(authOptions);
    const started = await launchNatsServer({ configFile: natsAuth.configFile, storeDir, storeDirInConfig: true, port: o.natsPort ?? 4222, pidFile: natsPidFile(o.stateDir) });
    nats = started;
    natsUrl = started.url;
    o.undo.push(() => started.stop());
  }
  // The broker's automation: with the operator, the only writer of the kill level.
  const control = await connectBus({ servers: natsUrl, name: 'orch-control', ...(natsAuth?.credentials(BROKER) ?? {}) });
  o.undo.push(() => control.drain().catch(() => undefined));
  // Which guarantee an acknowledged event has (docs/event-log.md, "Durability").
  const durability = describeDurability(control.info?.version ?? 'unknown', nats ? await readFile(o.natsConfigFile ?? repoNatsConf, 'utf8').catch(() => '') : undefined);
  o.log[durability.level]({ nats: control.info?.version, guarantee: durability.guarantee }, `event log durability: ${durability.message}`);
  return { natsUrl, nats, natsAuth, authOptions, control };
}
