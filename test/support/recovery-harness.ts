import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { requestParsed } from '../../actors/bus.ts';
import { subjects } from '../../actors/subjects.ts';
import { IntentReplySchema, IntentSchema, type Intent, type IntentReply, type PlaceIntent } from '../../actors/messages.ts';
import { readEvents } from '../../broker/event-log.ts';
import type { StoredEvent } from '../../broker/events/schema.ts';
import { project, type Projection } from '../../broker/projection/projection.ts';
import { intentTag } from '../../broker/kite/tag.ts';
import type { KiteSim } from '../../exchanges/kite/index.ts';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { connectBus } from '../../actors/bus.ts';
import { startKiteSim } from '../../exchanges/kite/index.ts';
import type { StrategySpec } from '../../config/registry.ts';
import { startNatsServer } from './nats-server.ts';
import { repoRoot, spec } from './specs.ts';

export const INFY = { symbol: 'NSE:INFY', token: 408065 } as const;

/** A broker in a child process that the test may SIGKILL. */
export type BrokerProcess = {
  child: ChildProcess;
  /** Resolves when the child prints a line starting with `prefix`. */
  waitFor(prefix: string, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
};

export type BrokerProcessConfig = {
  natsUrl: string;
  kite: { rest: string; ws: string; apiKey: string; accessToken: string };
  strategies: unknown[];
  leaseTtlMs: number;
  reconcileIntervalMs?: number;
};

export function spawnBroker(cfg: BrokerProcessConfig): BrokerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'support', 'broker-entry.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ORCH_RECOVERY: JSON.stringify(cfg) },
    stdio: ['ignore', 'pipe', process.env.ORCH_TEST_LOG ? 'inherit' : 'ignore'],
  });
  let out = '';
  const waiters: { prefix: string; resolve: () => void }[] = [];
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    for (const w of [...waiters]) if (out.split('\n').some((l) => l.startsWith(w.prefix))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    waitFor: (prefix, timeoutMs = 20_000) => new Promise<void>((resolve, reject) => {
      if (out.split('\n').some((l) => l.startsWith(prefix))) return resolve();
      const t = setTimeout(() => reject(new Error(`broker process did not print "${prefix}" within ${timeoutMs} ms; got: ${out}`)), timeoutMs);
      waiters.push({ prefix, resolve: () => { clearTimeout(t); resolve(); } });
      void exited.then(() => reject(new Error(`broker process exited (${child.exitCode ?? child.signalCode}) before "${prefix}"; got: ${out}`)));
    }),
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

let n = 0;
export function placeIntent(strategyId: string, over: Partial<PlaceIntent> = {}): PlaceIntent {
  return {
    action: 'place', intentId: `rec${Date.now().toString(36)}x${(n++).toString(36)}`, strategyId, ts: Date.now(),
    venue: 'kite', symbol: INFY.symbol, side: 'BUY', qty: 1, orderType: 'MARKET', ...over,
  };
}

export function sendIntent(nc: NatsConnection, intent: Intent, timeoutMs = 5_000): Promise<IntentReply> {
  return requestParsed(nc, subjects.intent(intent.strategyId), IntentSchema, intent, IntentReplySchema, timeoutMs);
}

/** Sends until the broker has a reference price (right after a start it may not yet). */
export async function sendWhenPriced(nc: NatsConnection, intent: PlaceIntent, timeoutMs = 10_000): Promise<IntentReply> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await sendIntent(nc, intent);
    if (r.status === 'accepted' || !['no_reference_price', 'not_reconciled'].includes(r.rule) || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

export async function readLog(nc: NatsConnection): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of readEvents(nc)) out.push(e);
  return out;
}

/**
 * The invariants after any outage: one venue order per intent, every venue fill in the log,
 * and the log's projection equal to the venue. Returns what is wrong (empty = all hold).
 */
/** Filled quantity per intent as the log has it, each venue fill counted once however often it was logged. */
export function loggedFillQty(log: readonly StoredEvent[]): Map<string, number> {
  const fillQty = new Map<string, number>();
  const seen = new Set<string>();
  for (const { event: e } of log) {
    if (e.kind !== 'fill' || seen.has(e.fill.fillId)) continue;
    seen.add(e.fill.fillId);
    fillQty.set(e.intentId, (fillQty.get(e.intentId) ?? 0) + e.fill.qty);
  }
  return fillQty;
}

export async function invariantViolations(nc: NatsConnection, sim: KiteSim): Promise<{ problems: string[]; projection: Projection; log: StoredEvent[] }> {
  const log = await readLog(nc);
  const projection = project(log);
  const problems: string[] = [];
  const byTag = new Map<string, string>();
  for (const r of projection.book.all()) byTag.set(intentTag(r.intentId), r.intentId);
  for (const id of projection.intents.keys()) byTag.set(intentTag(id), id);
  const venueOrders = sim.orders().filter((o) => o.tag);
  const perTag = new Map<string, number>();
  for (const o of venueOrders) perTag.set(o.tag!, (perTag.get(o.tag!) ?? 0) + 1);
  for (const [tag, count] of perTag) if (count > 1) problems.push(`${count} venue orders carry tag ${tag}`);
  const fillQty = loggedFillQty(log);
  const venueNet = new Map<string, number>();
  for (const o of venueOrders) {
    const sym = `${o.exchange}:${o.tradingsymbol}`;
    venueNet.set(sym, (venueNet.get(sym) ?? 0) + (o.transaction_type === 'BUY' ? o.filled_quantity : -o.filled_quantity));
    const intentId = byTag.get(o.tag!);
    if (!intentId) { problems.push(`venue order ${o.order_id} (tag ${o.tag}) is not in the log`); continue; }
    const rec = projection.book.get(intentId);
    if (!rec) { problems.push(`intent ${intentId} has a venue order ${o.order_id} but no order in the projection`); continue; }
    if (rec.venueOrderId !== o.order_id) problems.push(`intent ${intentId}: log has venue id ${rec.venueOrderId}, venue ${o.order_id}`);
    if (rec.filledQty !== o.filled_quantity) problems.push(`intent ${intentId}: log filled ${rec.filledQty}, venue ${o.filled_quantity}`);
    if ((fillQty.get(intentId) ?? 0) !== o.filled_quantity) problems.push(`intent ${intentId}: log fills sum to ${fillQty.get(intentId) ?? 0}, venue filled ${o.filled_quantity}`);
  }
  const localNet = new Map<string, number>();
  for (const p of projection.positions.values()) localNet.set(p.symbol, (localNet.get(p.symbol) ?? 0) + p.qty);
  for (const sym of new Set([...venueNet.keys(), ...localNet.keys()])) {
    if ((venueNet.get(sym) ?? 0) !== (localNet.get(sym) ?? 0)) problems.push(`${sym}: projection net ${localNet.get(sym) ?? 0}, venue ${venueNet.get(sym) ?? 0}`);
  }
  return { problems, projection, log };
}

export function simAccount(sim: KiteSim): BrokerProcessConfig['kite'] {
  return { rest: sim.restUrl, ws: sim.wsUrl, apiKey: sim.credentials.apiKey, accessToken: sim.issueAccessToken() };
}

/**
 * A nats-server, the built-in Kite exchange (INFY at 1,500), a connection, and two broker
 * processes for strategy `s1` with `risk`: `a` holds the lease and is ready, `b` waits as its
 * standby. Everything is torn down after the test (a frozen `a` is woken to be killed).
 */
export async function startActiveAndStandby(t: TestContext, o: { name: string; seed: number; leaseTtlMs: number; risk: StrategySpec['risk'] }) {
  const server = await startNatsServer();
  const sim = await startKiteSim({ tickIntervalMs: 100, seed: o.seed, logger: pino({ level: 'silent' }) });
  sim.setPrice(INFY.token, 1500);
  const nc = await connectBus({ servers: server.url, name: o.name });
  const cfg = { natsUrl: server.url, kite: simAccount(sim), strategies: [spec('s1', { risk: o.risk })], leaseTtlMs: o.leaseTtlMs };
  const a = spawnBroker(cfg);
  t.after(async () => {
    a.child.kill('SIGCONT');
    await a.kill('SIGKILL');
    await nc.close();
    await sim.close();
    await server.cleanup();
  });
  await a.waitFor('ready', 60_000);
  // Started once the first holds the lease, so it is the standby.
  const b = spawnBroker(cfg);
  t.after(() => b.kill('SIGKILL'));
  await b.waitFor('standby', 60_000);
  return { server, sim, nc, a, b };
}
