/**
 * A broker alone in its own process, so a test can kill -9 it: the Kite adapter pointed at a
 * built-in exchange the test runs, started through the composition root (broker/start.ts) with
 * the lease and a kill store, as a broker-only process starts. Config comes as JSON in
 * ORCH_RECOVERY; prints a "standby" line while it waits for the lease and "ready" on stdout as it gets there.
 */
import { pino } from 'pino';
import { z } from 'zod';
import { systemClock } from '../../actors/clock.ts';
import { connectBus } from '../../actors/bus.ts';
import { KillStore } from '../../broker/kill/kill-store.ts';
import { kiteLimits } from '../../broker/limiter/limits.ts';
import { startBroker } from '../../broker/start.ts';
import { buildKiteVenue } from '../../supervisor/venues/kite.ts';
import type { StrategySpec } from '../../config/registry.ts';

const Config = z.object({
  natsUrl: z.string(),
  kite: z.object({ rest: z.string(), ws: z.string(), apiKey: z.string(), accessToken: z.string() }),
  strategies: z.array(z.record(z.string(), z.unknown())),
  leaseTtlMs: z.number().int().positive(),
  reconcileIntervalMs: z.number().int().nonnegative().default(0),
});

const cfg = Config.parse(JSON.parse(process.env.ORCH_RECOVERY ?? '{}'));
const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' }, pino.destination(2));
const clock = systemClock;
const control = await connectBus({ servers: cfg.natsUrl, name: 'recovery-control' });
const killStore = await KillStore.open(control, { clock, log, role: 'automation' });
const token = cfg.kite.accessToken;
const started = await startBroker({
  natsUrl: cfg.natsUrl, control, killStore, clock, log, limits: kiteLimits(),
  strategies: cfg.strategies as unknown as StrategySpec[],
  venues: [(ctx) => buildKiteVenue({
    ...ctx,
    account: { root: cfg.kite.rest, wsUrl: cfg.kite.ws, apiKey: cfg.kite.apiKey, accessToken: () => token, reauthenticate: async () => undefined, marketHoursOnly: false },
  })],
  lease: {
    ttlMs: cfg.leaseTtlMs,
    onStandby: (holder) => process.stdout.write(`standby ${holder}\n`),
  },
  reconcileIntervalMs: cfg.reconcileIntervalMs,
  onReconcileMismatch: async (venue, diffs) => {
    await killStore.raise(2, { kind: 'global' }, `reconciliation: unexplained position difference on ${venue}`, 'automation:reconcile', Object.fromEntries(diffs.map((d) => [`${d.symbol}:${d.field}`, `local ${d.local} venue ${d.atVenue}`])));
  },
});
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void (async () => {
    await started.stop();
    await control.drain();
    process.exit(0);
  })();
});
