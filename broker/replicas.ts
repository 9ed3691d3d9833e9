import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { z } from 'zod';

/**
 * How many copies JetStream keeps of the event log and of the KV buckets (kill level, lease):
 * 1 on a single nats-server, 3 on the cluster of deploy/nats/ (one copy per node, so losing a
 * node loses no acknowledged event: docs/deploy.md). JetStream allows 1 to 5
 * (https://docs.nats.io/nats-concepts/jetstream/streams#configuration).
 */
export const ReplicasSchema = z.number().int().min(1, 'replicas: at least 1').max(5, 'replicas: JetStream keeps at most 5');
export const SINGLE_SERVER_REPLICAS = 1;

/** `ORCH_NATS_REPLICAS` / `--nats-replicas`: absent = one server; a bad value is refused by name. */
export function replicasFrom(value: string | undefined, name: string): number {
  if (value === undefined || value === '') return SINGLE_SERVER_REPLICAS;
  const r = ReplicasSchema.safeParse(Number(value));
  if (!r.success) throw new Error(`${name} must be an integer from 1 to 5, got "${value}"`);
  return r.data;
}

/**
 * A stream made before the system ran on a cluster keeps its replica count: raise it (or lower
 * it) to `replicas`. JetStream copies the existing messages to the new peers itself.
 */
export async function ensureReplicas(nc: NatsConnection, stream: string, replicas: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  if (info.config.num_replicas === replicas) return;
  await jsm.streams.update(stream, { num_replicas: replicas });
}
