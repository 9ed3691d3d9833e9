/**
 * The whole system (startSystem: NATS, broker, real strategy workers, the built-in Kite exchange)
 * on one TestClock that a driver moves forward about ten times faster than real time, so
 * timeouts, backoffs, stale windows and the 06:00 IST expiry happen in seconds. The clock only
 * moves when the event loop is free, so a busy loop cannot fake a stale socket.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { TestClock } from '../../actors/clock.ts';
import { connectBus, subscribeParsed } from '../../actors/bus.ts';
import { subjects } from '../../actors/subjects.ts';
import { BrokerEventSchema, HealthSchema, IntentReplySchema, OrderUpdateSchema, TickSchema, type BrokerEvent, type IntentReply, type OrderUpdate, type Tick } from '../../actors/messages.ts';
import { startSystem, type System, type SystemOptions } from '../../supervisor/system.ts';
import { startNatsServer, type NatsServerHandle } from './nats-server.ts';
import { renderRegistry } from './registry.ts';

export const trader = fileURLToPath(new URL('../e2e/kite/fixtures/trader.ts', import.meta.url));
export const ist = (s: string) => Date.parse(`${s}+05:30`);

/** Moves `clock` by `stepMs` (a number, or read before each step) each time the event loop comes round (every `realMs`). */
export function driveClock(clock: TestClock, stepMs: number | (() => number) = 20, realMs = 2): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      await clock.advance(typeof stepMs === 'number' ? stepMs : stepMs());
      await new Promise((r) => setTimeout(r, realMs));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

export type Observed = {
  events: BrokerEvent[];
  /** Every intent reply a strategy received (seen on the reply inboxes). */
  replies: IntentReply[];
  ticks: Tick[];
  updates: OrderUpdate[];
  /** Ticks each strategy has counted (its health heartbeat). */
  strategyTicks: Map<string, number>;
};

export type E2E = Observed & { sys: System; clock: TestClock; nats: NatsServerHandle; nc: NatsConnection; dir: string; stop(): Promise<void> };

export async function startE2E(o: { yaml: string; clock?: TestClock; system?: Partial<SystemOptions>; clockStepMs?: () => number }): Promise<E2E> {
  const clock = o.clock ?? new TestClock(ist('2026-11-23T10:00:00'));
  const nats = await startNatsServer();
  const dir = await mkdtemp(join(tmpdir(), 'orch-kite-e2e-'));
  const cfg = join(dir, 'strategies.yaml');
  await writeFile(cfg, o.yaml);
  const nc = await connectBus({ servers: nats.url, name: 'e2e-observer' });
  const seen: Observed = { events: [], replies: [], ticks: [], updates: [], strategyTicks: new Map() };
  subscribeParsed(nc, subjects.brokerEvents(), BrokerEventSchema, (e) => { seen.events.push(e); });
  subscribeParsed(nc, 'orch.md.kite.>', TickSchema, (t) => { seen.ticks.push(t); });
  subscribeParsed(nc, subjects.healthAll(), HealthSchema, (h) => { seen.strategyTicks.set(h.actorId, h.ticks); });
  subscribeParsed(nc, 'orch.order.>', OrderUpdateSchema, (u) => { seen.updates.push(u); });
  // Replies travel on inboxes; an open test server lets us watch them all.
  const inbox = nc.subscribe('_INBOX.>');
  void (async () => {
    for await (const m of inbox) {
      try {
        const r = IntentReplySchema.safeParse(m.json());
        if (r.success) seen.replies.push(r.data);
      } catch { /* not JSON: not a reply */ }
    }
  })();
  await nc.flush();
  const stopClock = driveClock(clock, o.clockStepMs ?? 20);
  const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });
  let sys: System;
  try {
    sys = await startSystem({ configFile: cfg, log, clock, natsUrl: nats.url, stateDir: dir, metricsPort: 0, logLevel: 'silent', hotReload: false, simTickIntervalMs: 200, ...o.system });
  } catch (e) {
    await stopClock();
    await nc.close();
    await nats.cleanup();
    throw e;
  }
  return {
    ...seen, sys, clock, nats, nc, dir,
    stop: async () => {
      await sys.stop();
      await stopClock();
      await nc.close();
      await nats.cleanup();
    },
  };
}

export const RISK = { maxOrderQty: 10, maxOrderValue: 1_000_000_000, maxPosition: 1000, maxOpenOrders: 100, priceBandBps: 2000, ordersPerMinute: 600 };

export async function metricsText(sys: System): Promise<string> {
  return (await fetch(sys.metricsUrl!)).text();
}

/** The simulator's demo account as the KITE_* environment `orch start` reads: the opt-in (unofficial) TOTP web login, no shortcut token. */
export function envFor(sim: import('../../exchanges/kite/index.ts').KiteSim, extra: Record<string, string> = {}): Record<string, string> {
  const c = sim.credentials;
  return {
    KITE_API_KEY: c.apiKey, KITE_API_SECRET: c.apiSecret, KITE_USER_ID: c.userId, KITE_PASSWORD: c.password, KITE_TOTP_SECRET: c.totpSecret, KITE_AUTO_LOGIN: 'totp',
    KITE_API_ROOT: sim.restUrl, KITE_LOGIN_ROOT: sim.restUrl, KITE_WS_URL: sim.wsUrl, KITE_POSTBACK_PORT: '0',
    ...extra,
  };
}

/** An exchange started (and armed) by the test, then the system logged in to it through env. */
export async function startWithSim(o: { yaml: string; clock?: TestClock; arm?: (sim: import('../../exchanges/kite/index.ts').KiteSim) => void; seed?: number }): Promise<E2E & { sim: import('../../exchanges/kite/index.ts').KiteSim }> {
  const { startKiteSim } = await import('../../exchanges/kite/index.ts');
  const { createLogger } = await import('../../actors/logger.ts');
  const clock = o.clock ?? new TestClock(ist('2026-11-23T10:00:00'));
  const sim = await startKiteSim({ clock, seed: o.seed ?? 11, tickIntervalMs: 200, logger: createLogger({ level: process.env.ORCH_TEST_LOG ?? 'silent' }) });
  o.arm?.(sim);
  let e: E2E;
  try {
    e = await startE2E({ yaml: o.yaml, clock, system: { env: envFor(sim) } });
  } catch (err) {
    await sim.close();
    throw err;
  }
  sim.setPostbackUrl(e.sys.kitePostbackUrl);
  return { ...e, sim, stop: async () => { await e.stop(); await sim.close(); } };
}

/** A registry of one trader fixture on NSE:INFY. */
export const strategyYaml = (id: string, params: Record<string, unknown>, risk: Record<string, number> = RISK) =>
  renderRegistry([{ id, module: trader, venue: 'kite', instruments: ['NSE:INFY'], params, risk }]);
