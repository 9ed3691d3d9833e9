import type { Clock } from '../actors/clock.ts';
import { actorLogger } from '../actors/logger.ts';
import type { Teardown } from '../actors/teardown.ts';
import type { LoadedConfig } from '../config/registry.ts';
import { kiteLimits, kalshiLimits, mergeLimits } from '../broker/limiter/limits.ts';
import { startBroker, type StartedBroker } from '../broker/start.ts';
import { BROKER } from './nats-auth.ts';
import type { SystemNats } from './system-nats.ts';
import type { SystemOptions } from './system-options.ts';
import { buildKalshiVenue, type KalshiVenueBuild } from './venues/kalshi.ts';
import { buildKiteVenue, kiteLimitSettings, type KiteVenue } from './venues/kite.ts';

export type SystemBroker = StartedBroker & { kite: KiteVenue; kalshi: KalshiVenueBuild | undefined };

/**
 * The system's broker, through the composition root (broker/start.ts): Kite always (a live
 * account or the built-in exchange), Kalshi when the registry trades there or a live account is
 * configured (so its first strategy can be added by hot reload), the automated kill switch and
 * the lease. Paper trading without a Kalshi strategy runs no Kalshi exchange.
 */
export async function startSystemBroker(o: SystemOptions, x: {
  config: LoadedConfig; nats: SystemNats; clock: Clock; stateDir: string; undo: Teardown; marketOpen: (now: number) => boolean;
}): Promise<SystemBroker> {
  const { config } = x;
  // Kite's figures (KITE_ORDERS_PER_MINUTE ...) apply to the limiter and to the built-in exchange alike.
  const { guardMs: kiteGuardMs, ...kiteFigures } = kiteLimitSettings(o.env ?? {});
  let kite!: KiteVenue;
  let kalshi: KalshiVenueBuild | undefined;
  const kalshiInstruments = [...new Set(config.strategies.filter((s) => s.venue === 'kalshi').flatMap((s) => s.instruments))];
  const brokerLog = actorLogger(o.log, 'broker');
  const credentials = x.nats.natsAuth?.credentials(BROKER);
  const started = await startBroker({
    natsUrl: x.nats.natsUrl, control: x.nats.control, teardown: x.undo, clock: x.clock, log: o.log,
    ...(credentials ? { credentials } : {}),
    strategies: config.strategies,
    ...(config.recording ? { recording: config.recording } : {}),
    limits: mergeLimits(kiteLimits({ ...kiteFigures, guardMs: kiteGuardMs }), kalshiLimits(o.kalshi?.tier ?? 'basic')),
    venues: [
      async ({ clock, log, limiter, observe }) => {
        kite = await buildKiteVenue({
          clock, log, limiter, isMarketOpen: x.marketOpen, stateDir: x.stateDir,
          // Login outcomes reach the kill switch's re-auth trigger.
          onLogin: (ok, atMarketOpen) => observe({ type: 'reauth', venue: 'kite', ok, ...(atMarketOpen ? { atMarketOpen } : {}) }),
          ...(o.kite ? { account: o.kite } : {}),
          ...(o.env ? { env: o.env } : {}),
          sim: { rateLimits: kiteFigures, ...o.kiteSim, ...(o.simPort !== undefined ? { port: o.simPort } : {}), ...(o.simSeed !== undefined ? { seed: o.simSeed } : {}), ...(o.simTickIntervalMs !== undefined ? { tickIntervalMs: o.simTickIntervalMs } : {}) },
        });
        return { ...kite, simulated: kite.sim !== undefined };
      },
      async ({ clock, log, limiter }) => {
        if (kalshiInstruments.length === 0 && !o.kalshi) return undefined;
        const built = await buildKalshiVenue({
          clock, log, limiter,
          ...(o.kalshi ? { account: o.kalshi } : {}),
          sim: { ...(o.kalshiSimPort !== undefined ? { port: o.kalshiSimPort } : {}), ...(o.simSeed !== undefined ? { seed: o.simSeed } : {}), flowIntervalMs: o.kalshiFlowMs ?? 1000, flowMarkets: kalshiInstruments },
        });
        kalshi = built;
        return { ...built, simulated: built.sim !== undefined };
      },
    ],
    killSwitch: { ...(config.killTriggers ? { triggers: config.killTriggers } : {}), ...(config.flatten ? { flatten: config.flatten } : {}) },
    lease: o.leaseTtlMs !== undefined ? { ttlMs: o.leaseTtlMs } : {},
    ...(o.eventLogMaxBytes !== undefined ? { eventLogMaxBytes: o.eventLogMaxBytes } : {}),
    ...(o.natsReplicas !== undefined ? { replicas: o.natsReplicas } : {}),
    eventLogUsage: true,
    reconcileIntervalMs: o.reconcileIntervalMs ?? 60_000,
    ...(config.externalAtStart ? { externalAtStart: config.externalAtStart } : {}),
    // Level 2 only when the difference persists: the reconcile_mismatch trigger counts the
    // Reconciled reports and asks for a second look (killTriggers.reconcileConfirmChecks).
    onReconcileMismatch: async (venue, diffs) => {
      brokerLog.warn({ venue, differences: diffs.map((d) => `${d.symbol} ${d.field}: local ${d.local} venue ${d.atVenue}`) }, 'reconciliation: unexplained position difference or order changed outside orch; kill level 2 if the next check still finds it');
    },
  });
  return { ...started, kite, kalshi };
}
