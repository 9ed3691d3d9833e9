import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from './nats-server.ts';
import { eventually, fixture } from './specs.ts';
import type { RegistryEntry } from './registry.ts';
import { startSystem, type System, type SystemOptions } from '../../supervisor/system.ts';
import { connectBus, requestParsed, subscribeParsed } from '../../actors/bus.ts';
import { subjects } from '../../actors/subjects.ts';
import { newIntentId } from '../../actors/ids.ts';
import { IntentReplySchema, IntentSchema, KillAckSchema, KillMessageSchema, type IntentReply, type KillAck, type KillMessage, type Side } from '../../actors/messages.ts';
import { runKill } from '../../supervisor/commands/kill.ts';

export const log = pino({ level: process.env.ORCH_TEST_LOG ?? 'silent' });

/** One whole system (real nats-server, built-in exchange, strategies in real workers) per scenario. */
export type Harness = {
  server: NatsServerHandle;
  sys: System;
  nc: NatsConnection;
  dir: string;
  kills: KillMessage[];
  acks: KillAck[];
  /** An intent as the strategy would send it (the broker judges by subject and body). */
  intent(strategyId: string, side: Side, qty: number, symbol: string, limitPrice?: number): Promise<IntentReply>;
  /** `orch kill|reset ...` in process, output captured. */
  cli(mode: 'kill' | 'reset', args: string[]): Promise<{ code: number; out: string; err: string }>;
  /** Net position per symbol at the exchange (the sum of its fills). */
  exchangePositions(): Promise<Record<string, number>>;
  openAtExchange(): { tag: string | null | undefined; status: string; order_id: string }[];
  close(): Promise<void>;
};

export async function startHarness(yaml: string, extra: Partial<SystemOptions> = {}): Promise<Harness> {
  const server = await startNatsServer();
  const dir = await mkdtemp(join(tmpdir(), 'orch-kill-'));
  const cfg = join(dir, 'strategies.yaml');
  await writeFile(cfg, yaml);
  const nc = await connectBus({ servers: server.url, name: 'kill-test' });
  const kills: KillMessage[] = [];
  const acks: KillAck[] = [];
  subscribeParsed(nc, subjects.kill(), KillMessageSchema, (m) => void kills.push(m));
  subscribeParsed(nc, subjects.killAckAll(), KillAckSchema, (a) => void acks.push(a));
  await nc.flush();
  let sys: System;
  try {
    sys = await startSystem({ configFile: cfg, log, natsUrl: server.url, stateDir: dir, metricsPort: false, simTickIntervalMs: 100, logLevel: 'silent', hotReload: false, ...extra });
  } catch (e) {
    await nc.close();
    await server.cleanup();
    throw e;
  }
  const h: Harness = {
    server, sys, nc, dir, kills, acks,
    intent: (strategyId, side, qty, symbol, limitPrice) => {
      const last = sys.broker.lastPrice('kite', symbol) ?? 0;
      const px = limitPrice ?? tickRound(side === 'BUY' ? last + Math.floor(last / 100) : last - Math.floor(last / 100));
      return requestParsed(nc, subjects.intent(strategyId), IntentSchema, {
        action: 'place', intentId: newIntentId(), strategyId, ts: Date.now(), venue: 'kite', symbol, side, qty, orderType: 'LIMIT', limitPrice: px,
      }, IntentReplySchema, 5_000);
    },
    cli: async (mode, args) => {
      let out = '';
      let err = '';
      const code = await runKill(mode, [...args, '--nats', server.url, '--state-dir', dir, '--operator', 'tester'], {}, { out: (s) => void (out += s), err: (s) => void (err += s) });
      return { code, out, err };
    },
    exchangePositions: async () => {
      // From the exchange's own fills rather than over REST: a test polling REST would spend the
      // account's 10/s read budget that the broker's flatten needs (and get 429s itself).
      const out: Record<string, number> = {};
      for (const o of sys.sim!.orders()) {
        const key = `${o.exchange}:${o.tradingsymbol}`;
        out[key] = (out[key] ?? 0) + (o.transaction_type === 'BUY' ? 1 : -1) * o.filled_quantity;
      }
      for (const k of Object.keys(out)) if (out[k] === 0) delete out[k];
      return out;
    },
    openAtExchange: () => sys.sim!.orders().filter((o) => ['OPEN', 'TRIGGER PENDING', 'OPEN PENDING'].includes(o.status)),
    close: async () => {
      await nc.close().catch(() => undefined);
      await sys.stop();
      await server.cleanup();
    },
  };
  return h;
}

/** The kill-probe fixture's risk limits in every registry entry. */
const PROBE_RISK = { maxOrderQty: 10, maxOrderValue: 100000000, maxPosition: 20, maxOpenOrders: 50, priceBandBps: 1000, ordersPerMinute: 600 };

/** A registry entry for the kill-probe fixture; `extra` adds fields (killTriggers, restart ...). */
export function probe(id: string, symbol: string, params: Record<string, unknown>, extra: Partial<RegistryEntry> = {}): RegistryEntry {
  return { id, module: fixture('kill-probe'), venue: 'kite', instruments: [symbol], params, risk: PROBE_RISK, ...extra };
}

/** Kite's tick size for equities is 5 paise. */
export const tickRound = (paise: number) => Math.max(5, Math.round(paise / 5) * 5);

/**
 * Waits for an automated trip of `trigger` to be latched for `scope` ('global' or a strategy id)
 * and returns the latched entry and the broadcast that announced it.
 */
export async function tripped(h: Harness, scope: string, trigger: string, timeoutMs = 15_000) {
  const by = `automation:${trigger}`;
  const entry = await eventually(() => {
    const s = h.sys.killStore.current();
    const e = scope === 'global' ? s.global : s.strategies[scope];
    return e && e.by === by ? e : undefined;
  }, `${trigger} to latch a level for ${scope}`, timeoutMs);
  const broadcast = await eventually(() => h.kills.find((k) => k.by === by && k.revision === entry.revision), `the ${trigger} broadcast`);
  return { entry, broadcast };
}
