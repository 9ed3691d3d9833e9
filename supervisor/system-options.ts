import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import type { LogFormat } from '../actors/logger.ts';
import type { KiteSimOptions } from '../exchanges/kite/index.ts';
import type { NatsAuth } from './nats-auth.ts';
import type { Role } from './placement.ts';
import type { KalshiAccount } from './venues/kalshi.ts';
import type { KiteAccount, KiteEnv } from './venues/kite.ts';

/** What `orch start` (and the tests, and the benchmarks) start the whole system with (supervisor/system.ts). */
export type SystemOptions = {
  configFile: string;
  /** Longest the registry's strategy modules may take to load, at start and on reload (default 30 s). */
  moduleLoadTimeoutMs?: number;
  /** Exchange holidays (default: market-holidays.yaml next to the registry; absent = none). */
  holidaysFile?: string;
  log: Logger;
  clock?: Clock;
  /** Use this NATS server; otherwise one is started from nats.conf. */
  natsUrl?: string;
  natsConfigFile?: string;
  /** Port of the nats-server this starts (default 4222; -1 = any free port). */
  natsPort?: number;
  /** Credentials of a server given by `natsUrl` that enforces permissions; absent = an open server. */
  natsAuth?: NatsAuth;
  stateDir?: string;
  /** Real Kite account; absent = the built-in exchange (paper trading). */
  kite?: KiteAccount;
  simPort?: number;
  simSeed?: number;
  simTickIntervalMs?: number;
  /** Kite live account and postback endpoint from KITE_* variables (supervisor/venues/kite.ts); `orch start` passes process.env. */
  env?: KiteEnv;
  /** Built-in Kite exchange extras (benchmarks, tests). */
  kiteSim?: Pick<KiteSimOptions, 'enforceRateLimits' | 'observer'>;
  /** Real Kalshi account (see kalshiAccountFromEnv); absent = the built-in Kalshi exchange, built only when a strategy trades on Kalshi. */
  kalshi?: KalshiAccount;
  kalshiSimPort?: number;
  /** Background trading on the built-in Kalshi exchange (ms between rounds); false = a still market. */
  kalshiFlowMs?: number | false;
  metricsPort?: number | false;
  metricsHost?: string;
  logLevel?: string;
  /** The strategy workers' log format (default JSON); `orch start` passes its own. */
  logFormat?: LogFormat;
  logColor?: boolean;
  /** Watch the registry and strategy modules and apply edits (default true); `reload()` works either way. */
  hotReload?: boolean;
  /** Periodic reconciliation with each venue (ms; default 60 s; 0 = only at start, after reconnects and on request). */
  reconcileIntervalMs?: number;
  /** Size limit of the event log stream (default 2 GiB); at it new events are refused. */
  eventLogMaxBytes?: number;
  /** The broker lease (broker/lease.ts): a second system waits as standby until it lapses. Default 10 s. */
  leaseTtlMs?: number;
  /** Copies JetStream keeps of the event log and the kill and lease buckets (broker/replicas.ts): 1 (default) on one server, 3 on the cluster of deploy/nats/. */
  natsReplicas?: number;
  /**
   * `broker`: the broker alone, no strategy runs here (they run under `orch start --role
   * strategies` elsewhere: supervisor/strategies-host.ts). Default `all`.
   */
  role?: Extract<Role, 'all' | 'broker'>;
};
