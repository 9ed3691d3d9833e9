import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Clock } from '../actors/clock.ts';
import { encodeJson } from '../actors/bus.ts';
import { subjects, SERVICE_BROKER, SERVICE_SUPERVISOR } from '../actors/subjects.ts';
import type { BrokerActor } from '../broker/broker-actor.ts';
import type { VenueAdapter } from '../broker/venue.ts';
import type { KillState } from '../broker/kill/kill-store.ts';
import type { BucketSnapshot } from '../broker/limiter/types.ts';
import { externalPositions, openOrders, positions, strategyPnl } from '../broker/projection/projection.ts';
import type { ChildView, Supervisor } from './supervisor.ts';
import type { Reloader } from './reload.ts';
import {
  BrokerStatusSchema, ReloadResultSchema, StrategiesReplySchema, SupervisorStatusSchema,
  type BrokerStatus, type SupervisorStatus,
} from './ops-schemas.ts';
import type { Venue } from '../actors/messages.ts';

/**
 * The broker and the supervisor as NATS services (the services API), so `nats micro ls`,
 * `nats micro info` and `nats micro stats` list them with their endpoints, and `nats req` on an
 * endpoint (or `orch status`) returns its status as JSON.
 */
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export type BrokerStatusSource = {
  broker: Pick<BrokerActor, 'projection' | 'lastPrice'>;
  adapters: readonly Pick<VenueAdapter, 'venue' | 'connected'>[];
  limiter: { snapshot(): BucketSnapshot[] };
  kill: { current(): KillState };
  /** The last flatten's outcome (the kill controller's), shown until the next one. */
  flatten?: () => BrokerStatus['flatten'];
  clock: Clock;
};

/** What the broker knows now: venues, limiter headroom, kill levels, positions, P&L, open orders. */
export function brokerStatus(src: BrokerStatusSource): BrokerStatus {
  const p = src.broker.projection;
  const last = (venue: Venue, symbol: string) => src.broker.lastPrice(venue, symbol);
  const pos = positions(p).map((x) => {
    const lp = last(x.venue, x.symbol);
    return { ...x, ...(lp !== undefined ? { lastPrice: lp } : {}) };
  });
  const open = openOrders(p);
  const ids = [...new Set([...pos.map((x) => x.strategyId), ...open.map((o) => o.strategyId)])].sort();
  const k = src.kill.current();
  const entry = (e: KillState['global']) => ({ level: e.level, reason: e.reason, by: e.by, ts: e.ts });
  return {
    service: SERVICE_BROKER,
    venues: src.adapters.map((a) => ({ venue: a.venue, connected: a.connected() })),
    limiter: src.limiter.snapshot(),
    kill: { global: entry(k.global), strategies: Object.fromEntries(Object.entries(k.strategies).map(([id, e]) => [id, entry(e)])) },
    positions: pos,
    externalPositions: externalPositions(p),
    ...(src.flatten?.() ? { flatten: src.flatten()! } : {}),
    pnl: ids.map((id) => {
      const { realized, unrealized, total, unpriced } = strategyPnl(p, id, (s, v) => last(v, s));
      const venue = pos.find((x) => x.strategyId === id)?.venue ?? open.find((o) => o.strategyId === id)?.venue;
      return { strategyId: id, ...(venue ? { venue } : {}), realized, unrealized, total, unpriced, openOrders: open.filter((o) => o.strategyId === id).length };
    }),
    openOrders: open.map((o) => ({
      intentId: o.intentId, strategyId: o.strategyId, venue: o.venue, symbol: o.symbol, side: o.side, qty: o.qty, filledQty: o.filledQty, state: o.state,
      ...(o.limitPrice !== undefined ? { limitPrice: o.limitPrice } : {}),
      ...(o.venueOrderId !== undefined ? { venueOrderId: o.venueOrderId } : {}),
    })),
    ts: src.clock.now(),
  };
}

export type SupervisorStatusSource = {
  supervisor: Pick<Supervisor, 'view'>;
  reloader: Pick<Reloader, 'current' | 'lastResult' | 'reload'>;
  clock: Clock;
  /** This supervisor's host and placement group (supervisor/placement.ts), shown by `orch status`. */
  placement?: { host: string; group: string };
};

export async function supervisorStatus(src: SupervisorStatusSource): Promise<SupervisorStatus> {
  const last = src.reloader.lastResult();
  return {
    service: SERVICE_SUPERVISOR,
    ...(src.placement ?? {}),
    configFile: src.reloader.current().file,
    actors: await src.supervisor.view(),
    ...(last ? { lastReload: last } : {}),
    ts: src.clock.now(),
  };
}

/** A running actor shows its own state (halted, paused); otherwise the supervisor's. */
function shownState(v: ChildView | undefined): string | undefined {
  if (!v) return undefined;
  return v.status === 'running' && v.health ? v.health.state : v.status;
}

/** The registry as running now, each entry with its actor's state. */
export async function strategiesReply(src: SupervisorStatusSource): Promise<z.infer<typeof StrategiesReplySchema>> {
  const views = new Map((await src.supervisor.view()).map((v) => [v.id, v]));
  const cfg = src.reloader.current();
  return {
    configFile: cfg.file,
    strategies: cfg.strategies.map((s) => ({
      id: s.id, venue: s.venue, module: s.module, instruments: [...s.instruments], enabled: s.enabled, onRemove: s.onRemove,
      status: shownState(views.get(s.id)) ?? (s.enabled ? 'not started' : 'disabled'),
      restarts: views.get(s.id)?.restarts ?? 0,
    })),
  };
}

type EndpointSpec = { description: string; schema: z.ZodType; handle: () => unknown };

/**
 * `every`: each instance answers each request (no queue group), as every host's supervisor must
 * for `orch status` and `orch reload`; otherwise one instance answers (the one broker).
 */
async function addService(nc: NatsConnection, name: string, description: string, role: 'broker' | 'supervisor', endpoints: Record<string, EndpointSpec>, log: Logger, o: { every?: boolean; metadata?: Record<string, string> } = {}): Promise<Service> {
  // @nats-io/services bundles its own nats-core types; the connection object is the same at runtime.
  // An endpoint's own empty queue is read as "the service's queue", so no queue is set service-wide.
  const svc = await new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0]).add({ name, version: VERSION, description, metadata: { role, ...o.metadata }, ...(o.every ? { queue: '' } : {}) });
  for (const [ep, spec] of Object.entries(endpoints)) {
    svc.addEndpoint(ep, {
      subject: subjects.serviceEndpoint(role, ep),
      metadata: { description: spec.description },
      handler: (err, msg) => {
        if (err) {
          log.warn({ err, service: name, endpoint: ep }, 'service endpoint stopped');
          return;
        }
        void answer(msg, spec, log, `${name}.${ep}`);
      },
    });
  }
  return svc;
}

async function answer(msg: ServiceMsg, spec: EndpointSpec, log: Logger, what: string): Promise<void> {
  try {
    // Validated on the way out: a malformed status should fail here, not in every reader.
    msg.respond(encodeJson(spec.schema, await spec.handle()));
  } catch (err) {
    log.error({ err, endpoint: what }, 'service request failed');
    msg.respondError(500, (err as Error).message);
  }
}

export type Services = { broker: Service | undefined; supervisor: Service | undefined; stop(): Promise<void> };

/** Either may be absent: a `--role broker` process runs no supervisor, a `--role strategies` one no broker. */
export async function startServices(nc: NatsConnection, o: { broker?: BrokerStatusSource; supervisor?: SupervisorStatusSource; log: Logger }): Promise<Services> {
  const b = o.broker;
  const broker = b ? await addService(nc, SERVICE_BROKER, 'orch broker actor: venues, limiter, kill level, positions, P&L, open orders', 'broker', {
    status: { description: 'venue connections, limiter headroom, kill levels, positions, P&L per strategy and open orders', schema: BrokerStatusSchema, handle: () => brokerStatus(b) },
  }, o.log) : undefined;
  const s = o.supervisor;
  const supervisor = s ? await addService(nc, SERVICE_SUPERVISOR, 'orch supervisor: strategy actors and hot reload', 'supervisor', {
    status: { description: 'actors, state, restarts, health and the last reload', schema: SupervisorStatusSchema, handle: () => supervisorStatus(s) },
    strategies: { description: 'the registry as running, with each actor\'s state', schema: StrategiesReplySchema, handle: () => strategiesReply(s) },
    reload: { description: 'validate config/strategies.yaml and apply what changed (like an edit under the file watch)', schema: ReloadResultSchema, handle: () => s.reloader.reload('request') },
  }, o.log, { every: true, ...(s.placement ? { metadata: s.placement } : {}) }) : undefined;
  return {
    broker,
    supervisor,
    stop: async () => {
      await supervisor?.stop().catch(() => undefined);
      await broker?.stop().catch(() => undefined);
    },
  };
}
