import type { Venue } from './messages.ts';

/**
 * The switchboard: every NATS subject the system uses is built here and nowhere else, and
 * nats.conf permissions are written against these shapes.
 */

const ROOT = 'orch';

/** Subject tokens may not contain '.', '*', '>' or whitespace; symbols like "NSE:INFY" are kept readable. */
export function token(raw: string): string {
  if (raw.length === 0) throw new Error('empty subject token');
  return raw.replace(/[.*>\s]/g, '_');
}

export const subjects = {
  /** broker → strategies: normalized ticks. */
  marketData: (venue: Venue, symbol: string) => `${ROOT}.md.${venue}.${token(symbol)}`,
  marketDataAll: () => `${ROOT}.md.>`,
  /** strategy → broker, request/reply: the last tick of each of a strategy's instruments. */
  lastTicks: () => `${ROOT}.broker.last_ticks`,
  /**
   * strategy → broker, request/reply: the strategy's positions and open orders as the broker
   * holds them, asked before its first tick. The id is in the subject, so a strategy's NATS
   * user can ask only for its own.
   */
  strategyState: (strategyId: string) => `${ROOT}.broker.state.${token(strategyId)}`,
  strategyStateAll: () => `${ROOT}.broker.state.*`,
  /** strategy → broker, request/reply. */
  intent: (strategyId: string) => `${ROOT}.intent.${token(strategyId)}`,
  intentAll: () => `${ROOT}.intent.*`,
  /** The strategy an intent subject names (its sender, as the NATS permissions allow), or undefined. */
  intentSender: (subject: string): string | undefined => {
    const prefix = `${ROOT}.intent.`;
    const rest = subject.startsWith(prefix) ? subject.slice(prefix.length) : '';
    return rest && !rest.includes('.') ? rest : undefined;
  },
  /** broker → strategy: order lifecycle and fills. */
  orderUpdate: (strategyId: string, intentId: string) => `${ROOT}.order.${token(strategyId)}.${token(intentId)}`,
  orderUpdatesOf: (strategyId: string) => `${ROOT}.order.${token(strategyId)}.>`,
  /** Every strategy's order updates: what the broker's kill triggers watch. */
  orderUpdatesAll: () => `${ROOT}.order.>`,
  brokerEvents: () => `${ROOT}.broker.events`,
  kill: () => `${ROOT}.kill`,
  /** Each actor acknowledges a kill level it has applied. */
  killAck: (actorId: string) => `${ROOT}.kill.ack.${token(actorId)}`,
  killAckAll: () => `${ROOT}.kill.ack.*`,
  /** The immutable event log (JetStream stream ORCH_EVENTS). */
  event: (kind: string, strategyId = '_') => `${ROOT}.evt.${token(kind)}.${token(strategyId)}`,
  eventsAll: () => `${ROOT}.evt.>`,
  /** One strategy's events, every kind. */
  eventsOf: (strategyId: string) => `${ROOT}.evt.*.${token(strategyId)}`,
  /** operator → broker, request/reply: run reconciliation now and answer with the differences. */
  reconcileRequest: () => `${ROOT}.broker.reconcile`,
  /** operator → broker, request/reply: halt one strategy and close its positions (`orch flatten`). */
  flattenRequest: () => `${ROOT}.broker.flatten`,
  /** Payloads that failed to parse, with the reason. */
  deadLetter: (fromSubject: string) => `${ROOT}.dlq.${fromSubject.replace(/^orch\./, '')}`,
  deadLetterAll: () => `${ROOT}.dlq.>`,
  /** Worker threads forward their Prometheus metrics here for the one /metrics endpoint. */
  metrics: (actorId: string) => `${ROOT}.metrics.${token(actorId)}`,
  metricsAll: () => `${ROOT}.metrics.*`,
  /**
   * supervisor → broker: a strategy actor crashed (and is restarted, or given up on). The kill
   * switch's restart-intensity trigger counts these from every host's supervisor.
   */
  actorCrashed: (actorId: string) => `${ROOT}.supervisor.crashed.${token(actorId)}`,
  actorCrashedAll: () => `${ROOT}.supervisor.crashed.*`,
  /** Strategy health heartbeats (also visible to `nats sub`). */
  health: (actorId: string) => `${ROOT}.health.${token(actorId)}`,
  healthAll: () => `${ROOT}.health.*`,
  /** Endpoints of the NATS services (`nats micro info orch-broker`): status as JSON on request. */
  serviceEndpoint: (service: 'broker' | 'supervisor', endpoint: string) => `${ROOT}.svc.${service}.${token(endpoint)}`,
  /** Every endpoint of one service (a permission). */
  serviceEndpointsOf: (service: 'broker' | 'supervisor') => `${ROOT}.svc.${service}.>`,
} as const;

/**
 * Each NATS user's own reply subjects: `_INBOX.<user>`. The generated permissions let a user
 * subscribe under its own prefix only (supervisor/nats-auth.ts), so no strategy can read the
 * replies meant for another, the event log's acks or the operator's answers.
 */
export const INBOX_ROOT = '_INBOX';
export function inboxPrefix(user: string): string {
  return `${INBOX_ROOT}.${token(user)}`;
}

export const STREAM_EVENTS = 'ORCH_EVENTS';
/** The market-data recording (registry `recording:`), over `orch.md.>`. */
export const STREAM_MARKET_DATA = 'ORCH_MD';
export const KV_KILL = 'orch_kill';
export const KV_LEASE = 'orch_lease';
/** Service names for the NATS services API (`nats micro ls`). */
export const SERVICE_BROKER = 'orch-broker';
export const SERVICE_SUPERVISOR = 'orch-supervisor';
