import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from '../../actors/clock.ts';
import type { VenueAdapter } from '../venue.ts';
import { KillController, type ArmedDeps, type KillEvent } from './kill-controller.ts';
import type { KillState, KillStore } from './kill-store.ts';
import { TriggerFeed, type TripRecorder, type PnlSource } from './trigger-feed.ts';
import { strategyPnl } from '../projection/projection.ts';
import { encodeJson, subscribeParsed } from '../../actors/bus.ts';
import { subjects } from '../../actors/subjects.ts';
import { FlattenReplySchema, FlattenRequestSchema, type FlattenReply, type FlattenRequest } from './flatten-wire.ts';
import type { BrokerActor } from '../broker-actor.ts';
import type { Venue } from '../../actors/messages.ts';
import type { KillTriggers } from '../../config/risk-limits.ts';
import type { RestartIntensity } from '../../config/restart-intensity.ts';
import type { FlattenSettings } from '../../config/flatten-settings.ts';

/**
 * The broker side of the kill switch in one place, for the composition root: the controller
 * that acts on level changes and the automated triggers that raise them. Start it before the
 * broker subscribes to anything (it reads the latched level first), arm it once the broker is up.
 */
export type KillSwitch = {
  controller: KillController;
  triggers: TriggerFeed;
  /** The state read at start. */
  state: KillState;
  arm(deps: ArmedDeps & { pnl?: PnlSource }): void;
  /** Starts answering `orch flatten` (at once unless `requests.deferred`). */
  serveRequests(): void;
  /** Stops answering them (the lease is lost): the new leader answers. */
  stopServing(): void;
  stop(): void;
};

export type KillSwitchOptions = {
  nc: NatsConnection;
  store: KillStore;
  adapters: readonly VenueAdapter[];
  killTriggers?: KillTriggers;
  strategies: readonly { id: string; venue: Venue; killTriggers?: KillTriggers; restart?: RestartIntensity }[];
  clock: Clock;
  log: Logger;
  events?: { record(ev: KillEvent, msgId?: string): void };
  onTrip?: TripRecorder;
  /** How closing orders are sent and followed to flat (registry `flatten:`). */
  flatten?: FlattenSettings;
  /**
   * With a lease: `orch flatten` is answered only once `serveRequests()` is called (the broker is
   * ready and holds the lease) and while `allowed()`. A standby that queued the request would
   * otherwise carry it out when it takes over, perhaps hours later.
   */
  requests?: { deferred: boolean; allowed: () => boolean };
};

/** P&L for the daily-loss and drawdown triggers, from the same projection the broker trades on. */
export function projectionPnl(broker: BrokerActor): PnlSource {
  return {
    pnlOf: (id) => strategyPnl(broker.projection, id, (symbol, venue) => broker.lastPrice(venue, symbol)),
    holders: (symbol) => [...broker.projection.positions.values()].filter((s) => s.symbol === symbol && s.lots.length > 0).map((s) => s.strategyId),
  };
}

export async function startKillSwitch(o: KillSwitchOptions): Promise<KillSwitch> {
  const triggers = new TriggerFeed({
    nc: o.nc, store: o.store, clock: o.clock, log: o.log, adapters: o.adapters, strategies: o.strategies,
    ...(o.killTriggers ? { global: o.killTriggers } : {}),
    ...(o.onTrip ? { onTrip: o.onTrip } : {}),
  });
  const controller = new KillController({
    store: o.store, venues: o.adapters, clock: o.clock, log: o.log,
    ...(o.events ? { events: o.events } : {}),
    ...(o.flatten ? { flatten: o.flatten } : {}),
    // After an operator lowers a scope, its triggers may trip again.
    onLowered: (scope) => triggers.rearm(scope),
  });
  const state = await controller.start();
  triggers.start();
  // `orch flatten --strategy ID`: answered once armed (the controller waits for the broker).
  let flattenSub: Subscription | undefined;
  const serveRequests = () => {
    flattenSub ??= subscribeParsed(o.nc, subjects.flattenRequest(), FlattenRequestSchema, (req, msg) => onFlatten(req, msg), { log: o.log });
  };
  const stopServing = () => {
    flattenSub?.unsubscribe();
    flattenSub = undefined;
  };
  const onFlatten = async (req: FlattenRequest, msg: Msg) => {
    // Silent, not refused: a broker frozen past its lease still hears it; the leader answers.
    if (o.requests && !o.requests.allowed()) return;
    let reply: FlattenReply;
    try {
      reply = { ok: true, ...(await controller.flattenStrategy(req.strategyId, req.reason, req.by)) };
    } catch (e) {
      reply = { ok: false, error: (e as Error).message };
    }
    if (msg.reply) msg.respond(encodeJson(FlattenReplySchema, reply));
  };
  if (!o.requests?.deferred) serveRequests();
  return {
    serveRequests,
    stopServing,
    controller,
    triggers,
    state,
    arm: (deps) => {
      controller.arm(deps);
      if (deps.pnl) triggers.usePnl(deps.pnl);
      for (const a of o.adapters) if (o.strategies.some((s) => s.venue === a.venue)) triggers.marketData(a.venue, true);
    },
    stop: () => {
      stopServing();
      triggers.stop();
      controller.stop();
    },
  };
}
