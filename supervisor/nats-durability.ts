/**
 * What nats-server promises about an acknowledged event, said once at start. JetStream acks a
 * write when it is in the server's memory and file; the file is flushed to disk every
 * `sync_interval` (default 2 minutes), so an OS crash or power loss can lose events acked since
 * the last flush, even on a single node: https://jepsen.io/analyses/nats-2.12.1 (2025).
 * nats-server 2.10 and later accept `sync_interval: always` in the jetstream block
 * (https://docs.nats.io/running-a-nats-service/configuration#jetstream), which flushes every
 * write before its ack; 2.9 (Debian 12's package) has no such setting.
 */
export type Durability = { level: 'info' | 'warn'; guarantee: 'fsync_each_write' | 'periodic_flush' | 'unknown'; message: string };

/** `major.minor` of a nats-server version string ("2.9.10", "v2.10.22"). */
function majorMinor(version: string): [number, number] | undefined {
  const m = /(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function supportsSyncAlways(version: string): boolean {
  const v = majorMinor(version);
  return v !== undefined && (v[0] > 2 || (v[0] === 2 && v[1] >= 10));
}

/**
 * `configText`: the config our own server runs with; undefined for a server we did not start
 * (its settings cannot be read from a client).
 */
export function describeDurability(version: string, configText: string | undefined): Durability {
  const recovery = 'fills and order states lost that way are recovered from the venue by the reconciliation at the next start (docs/event-log.md)';
  if (configText === undefined) {
    return { level: 'warn', guarantee: 'unknown', message: `nats-server ${version} was started elsewhere: unless its jetstream block sets sync_interval: always (2.10+), events acknowledged within its flush interval (default 2 min) can be lost on an OS crash; ${recovery}` };
  }
  const always = /^\s*sync_interval\s*[:=]\s*"?always"?/m.test(configText.replace(/#.*$/gm, ''));
  if (always && supportsSyncAlways(version)) {
    return { level: 'info', guarantee: 'fsync_each_write', message: `nats-server ${version} with sync_interval: always: every event is on disk before it is acknowledged` };
  }
  const how = supportsSyncAlways(version)
    ? 'set sync_interval: always in the jetstream block of nats.conf to flush every write'
    : 'nats-server 2.10+ can flush every write (sync_interval: always); this one cannot';
  return { level: 'warn', guarantee: 'periodic_flush', message: `nats-server ${version} flushes JetStream to disk every 2 min: events acknowledged since the last flush can be lost on an OS crash or power loss (not on a process crash); ${how}; ${recovery}` };
}

/**
 * Which of deploy/nats/durability-*.conf a cluster node of this nats-server version includes as
 * its durability.conf (docs/deploy.md): the flush before every ack where the server has it.
 */
export function clusterDurabilityFile(version: string): 'durability-2.10.conf' | 'durability-2.9.conf' {
  return supportsSyncAlways(version) ? 'durability-2.10.conf' : 'durability-2.9.conf';
}
