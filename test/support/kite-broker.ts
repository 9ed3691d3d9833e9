import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { startBrokerActor, stopAfter, type BrokerActorTestOptions, type TestBroker } from './broker-actor.ts';
import type { BrokerActorOptions } from '../../broker/broker-actor.ts';
import type { EventLog } from '../../broker/event-log.ts';
import { kiteLimits } from '../../broker/limiter/limits.ts';
import { KiteRestClient } from '../../broker/kite/rest-client.ts';
import { KiteRetry } from '../../broker/kite/retry.ts';
import { KiteOrderWriter } from '../../broker/kite/order-writer.ts';
import { KiteTickerClient } from '../../broker/kite/ticker-client.ts';
import { tickerPort } from '../../broker/kite/ticker-port.ts';
import { KiteAdapter } from '../../broker/kite/adapter.ts';
import { startKiteSim, type KiteSim, type KiteSimOptions } from '../../exchanges/kite/index.ts';
import { connectBus } from '../../actors/bus.ts';
import { ensureEventStream } from '../../broker/event-log.ts';
import { startNatsServer } from './nats-server.ts';
import type { StrategySpec } from '../../config/registry.ts';

export type InProcessBroker = TestBroker<KiteAdapter>;

/**
 * The broker actor as system.ts wires it for Kite, in this process, against the built-in
 * exchange, with short venue timeouts so faults resolve within a test. `eventLog` swaps in a
 * log that misbehaves on purpose.
 */
export async function startKiteBroker(o: BrokerActorTestOptions & {
  sim: KiteSim;
  /** Where the broker reaches the exchange, when not directly (e.g. through a test's TCP relay). */
  urls?: { rest: string; ws: string };
  /** The adapter's REST poll of orders (default 200 ms); long, to show what the pushes alone do. */
  pollIntervalMs?: number;
}): Promise<InProcessBroker> {
  const { sim } = o;
  const token = sim.issueAccessToken();
  return startBrokerActor(kiteLimits(), ({ clock, log, limiter }) => {
    const rest = new KiteRestClient({ root: o.urls?.rest ?? sim.restUrl, apiKey: sim.credentials.apiKey, getAccessToken: () => token, limiter, clock, logger: log, timeoutMs: 2_000 });
    const retry = new KiteRetry({ clock, reauthenticate: async () => undefined, logger: log, lookupDelayMs: 50, reconnectDelayMs: 50 });
    const ticker = new KiteTickerClient({ url: o.urls?.ws ?? sim.wsUrl, apiKey: sim.credentials.apiKey, getAccessToken: () => token, clock, logger: log, isMarketOpen: () => true });
    return new KiteAdapter({ rest, writer: new KiteOrderWriter(rest, retry), retry, ticker: tickerPort(ticker, clock), clock, log, pollIntervalMs: o.pollIntervalMs ?? 200 });
  }, o);
}

/**
 * A nats-server with the event stream, the built-in exchange and an in-process broker over
 * them, torn down after the test. `before` sets up the exchange (prices, faults) first.
 */
export async function kiteBrokerOnSim(t: { after: (fn: () => Promise<void>) => void }, o: {
  name: string;
  strategies: StrategySpec[];
  log: Logger;
  sim?: Partial<KiteSimOptions>;
  before?: (sim: KiteSim) => void;
  eventLog?: (nc: NatsConnection, log: Logger) => EventLog;
  maxPlaceWaitMs?: number;
  refusalLog?: BrokerActorOptions['refusalLog'];
  killSwitch?: BrokerActorTestOptions['killSwitch'];
  recording?: BrokerActorTestOptions['recording'];
  pollIntervalMs?: number;
}): Promise<{ nc: NatsConnection; natsUrl: string; sim: KiteSim; running: InProcessBroker }> {
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name: o.name });
  await ensureEventStream(nc);
  const sim = await startKiteSim({ tickIntervalMs: 50, seed: 7, logger: o.log, ...o.sim });
  o.before?.(sim);
  const running = await startKiteBroker({
    sim, natsUrl: nats.url, strategies: o.strategies, log: o.log,
    ...(o.eventLog ? { eventLog: o.eventLog } : {}),
    ...(o.maxPlaceWaitMs !== undefined ? { maxPlaceWaitMs: o.maxPlaceWaitMs } : {}),
    ...(o.refusalLog ? { refusalLog: o.refusalLog } : {}),
    ...(o.killSwitch ? { killSwitch: o.killSwitch } : {}),
    ...(o.recording ? { recording: o.recording } : {}),
    ...(o.pollIntervalMs !== undefined ? { pollIntervalMs: o.pollIntervalMs } : {}),
  });
  stopAfter(t, { running, sim, nc, nats });
  return { nc, natsUrl: nats.url, sim, running };
}
