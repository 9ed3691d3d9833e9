/**
 * A broker alone in its own process, so a test can kill -9 it: NATS, the Kite adapter pointed
 * at a built-in exchange the test runs, the kill store, the lease and the broker actor, wired
 * as supervisor/system.ts wires them. Config comes as JSON in ORCH_RECOVERY; prints "standby",
 * "leader" and "ready" lines on stdout as it gets there.
 */
import { pino } from 'pino';
import { z } from 'zod';
import { systemClock } from '../../actors/clock.ts';
import { connectBus } from '../../actors/bus.ts';
import { BrokerActor } from '../../broker/broker-actor.ts';
import { EventLog, ensureEventStream } from '../../broker/event-log.ts';
import { killSwitchGate, riskLimitGate } from '../../broker/kill/gates.ts';
import { KillStore } from '../../broker/kill/kill-store.ts';
import { BrokerLease } from '../../broker/lease.ts';
import { SharedLimiter } from '../../broker/limiter/shared-limiter.ts';
import { kiteLimits } from '../../broker/limiter/limits.ts';
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
const nc = await connectBus({ servers: cfg.natsUrl, name: 'recovery-control' });
await ensureEventStream(nc);
const killStore = await KillStore.open(nc, { clock, log, role: 'automation' });
await killStore.readThenWatch(() => undefined);
const lease = await BrokerLease.open(nc, { clock, log, ttlMs: cfg.leaseTtlMs });
process.stdout.write(`standby ${lease.holder}\n`);
await lease.acquire();
process.stdout.write('leader\n');
const limiter = new SharedLimiter({ clock, limits: kiteLimits(), logger: log });
const token = cfg.kite.accessToken;
const kite = await buildKiteVenue({
  clock, log, limiter,
  account: { root: cfg.kite.rest, wsUrl: cfg.kite.ws, apiKey: cfg.kite.apiKey, accessToken: () => token, reauthenticate: async () => undefined, marketHoursOnly: false },
});
const broker = new BrokerActor({
  natsUrl: cfg.natsUrl, adapters: [kite.adapter], strategies: cfg.strategies as unknown as StrategySpec[], clock, log, limiter,
  gates: [killSwitchGate(killStore), riskLimitGate(clock)],
  eventLog: (c) => new EventLog(c, log),
  reconcileIntervalMs: cfg.reconcileIntervalMs,
  onReconcileMismatch: async (venue, diffs) => {
    await killStore.raise(2, { kind: 'global' }, `reconciliation: unexplained position difference on ${venue}`, 'automation:reconcile', Object.fromEntries(diffs.map((d) => [`${d.symbol}:${d.field}`, `local ${d.local} venue ${d.atVenue}`])));
  },
});
lease.onLost((reason) => broker.fence(reason));
await broker.start();
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void (async () => {
    await broker.stop();
    await lease.release();
    await kite.close();
    await nc.drain();
    process.exit(0);
  })();
});
