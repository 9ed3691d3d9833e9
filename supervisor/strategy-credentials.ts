import type { Clock } from '../actors/clock.ts';
import { connectBus } from '../actors/bus.ts';
import { strategyCredentialSource, strategyRole, type NatsAuth, type NatsAuthOptions } from './nats-auth.ts';
import type { NatsProcess } from './nats-launcher.ts';

/**
 * Each strategy's own NATS user. On our own server a strategy added to the YAML later gets its
 * user on the fly: the files are rewritten and the server reloads them on SIGHUP, and the new
 * user is tried until the server takes it. On a server we did not start, the user must exist.
 */
export function strategyCredentials(initial: NatsAuth, options: NatsAuthOptions | undefined, nats: NatsProcess | undefined, clock: Clock) {
  if (!options || !nats) return async (spec: { id: string }) => initial.credentials(strategyRole(spec.id));
  const source = strategyCredentialSource({
    initial, options,
    reload: async (probe) => {
      nats.process.kill('SIGHUP');
      for (let i = 0; i < 100; i++) {
        const nc = await connectBus({ servers: nats.url, name: 'orch-auth-probe', user: probe.user, pass: probe.pass, timeoutMs: 1_000 }).catch(() => undefined);
        if (nc) return void (await nc.close());
        await clock.sleep(50);
      }
      throw new Error(`nats-server did not take the new user ${probe.user} after a reload`);
    },
  });
  return (spec: { id: string }) => source(spec.id);
}
