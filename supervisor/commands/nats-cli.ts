import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectBus } from '../../actors/bus.ts';
import { operatorCredentials } from '../nats-auth.ts';

/** How the read-side commands (`events`, `reconcile`) reach NATS: the operator user when credentials exist. */
export async function connectOperator(values: { nats?: string | undefined; 'state-dir'?: string | undefined }, env: NodeJS.ProcessEnv = process.env): Promise<NatsConnection> {
  const url = values.nats ?? env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const creds = await operatorCredentials(values['state-dir'] ?? join(process.cwd(), '.orch'), env);
  try {
    return await connectBus({ servers: url, name: 'orch-cli', timeoutMs: 3_000, ...(creds ?? {}) });
  } catch (e) {
    throw new Error(`cannot reach NATS at ${url}: ${(e as Error).message}; is the orchestrator running? (--nats URL or NATS_URL)`);
  }
}
