import { probePort } from './instance-lock.ts';
import { kitePostbackBinding, type KiteEnv } from './venues/kite.ts';
import { SupervisorError } from './errors.ts';

/** A port `orch start` will listen on, and the setting that chose it (named in a refusal). */
export type PortBinding = { port: number; host: string; key: string };

export class PortClashError extends SupervisorError {
  constructor(readonly port: number, readonly keys: readonly string[]) {
    super('port_clash', `port ${port} is set for both ${keys.join(' and ')}; nothing was started or wiped. Give each its own port`);
    this.name = 'PortClashError';
  }
}

/**
 * Every fixed port the start path binds, so all are checked before anything is wiped or
 * started: metrics and /healthz (the broker's, and the strategies process's when it runs beside it), the nats-server it starts (its `--nats-port`; the shipped
 * nats.conf opens no other port, test/ops/start-ports.test.ts keeps it so), and the Kite postback
 * listener when KITE_POSTBACK_PORT is set. The built-in exchanges (paper) and the paper postback
 * listener take free ports (0), which cannot be taken, so they are not listed.
 */
export function startBindings(o: { metricsPort: number; metricsHost: string; natsPort: number | undefined; strategiesMetricsPort?: number | undefined; env: KiteEnv }): PortBinding[] {
  const all: PortBinding[] = [{ port: o.metricsPort, host: o.metricsHost, key: '--metrics-port' }];
  if (o.strategiesMetricsPort !== undefined) all.push({ port: o.strategiesMetricsPort, host: o.metricsHost, key: '--strategies-metrics-port' });
  if (o.natsPort !== undefined) all.push({ port: o.natsPort, host: '127.0.0.1', key: '--nats-port' });
  const postback = kitePostbackBinding(o.env);
  if (postback) all.push({ ...postback, key: 'KITE_POSTBACK_PORT' });
  return all.filter((b) => b.port > 0);
}

/** Throws PortClashError when two settings name one port, PortInUseError (with the key) when one is taken. */
export async function probeStartPorts(bindings: readonly PortBinding[]): Promise<void> {
  for (const [i, b] of bindings.entries()) {
    const other = bindings.slice(0, i).find((x) => x.port === b.port);
    if (other) throw new PortClashError(b.port, [other.key, b.key]);
  }
  for (const b of bindings) await probePort(b.port, b.key, b.host);
}
