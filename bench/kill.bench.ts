/**
 * Kill propagation: time from a level-3 trip (the operator's KV write) until every one of 16
 * strategy actors in real workers has acknowledged it, and until every open order is cancelled
 * at the built-in exchange. Floor: the bare NATS publish→receive round trip, same run.
 */
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { startNatsServer } from '../test/helpers/nats-server.ts';
import { fixture } from '../test/helpers/specs.ts';
import { startSystem } from '../supervisor/system.ts';
import { connectBus, subscribeParsed } from '../actors/bus.ts';
import { systemClock } from '../actors/clock.ts';
import { subjects } from '../actors/subjects.ts';
import { KillAckSchema } from '../actors/messages.ts';
import { KillStore } from '../broker/kill/kill-store.ts';

const ACTORS = 16;
const ACK_ROUNDS = 30;
const CANCEL_ROUNDS = 5;
const RTT_SAMPLES = 2_000;

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!; };
const ms = (x: number) => Math.round(x * 1000) / 1000;
async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`kill bench: timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

export default async function run(): Promise<void> {
  const server = await startNatsServer();
  const dir = await mkdtemp(join(tmpdir(), 'orch-kill-bench-'));
  const cfg = join(dir, 'strategies.yaml');
  const entries = Array.from({ length: ACTORS }, (_, i) => `
  - id: k${i}
    module: ${fixture('kill-probe')}
    venue: kite
    instruments: [NSE:INFY]
    params: { restOnTick: 1, restCount: 1, refill: true, restBelowBps: 300 }
    risk: { maxOrderQty: 10, maxOrderValue: 100000000, maxPosition: 20, maxOpenOrders: 5, priceBandBps: 1000, ordersPerMinute: 6000 }`).join('');
  await writeFile(cfg, `strategies:${entries}\n`);
  const sys = await startSystem({ configFile: cfg, log: pino({ level: 'silent' }), natsUrl: server.url, stateDir: dir, metricsPort: false, simTickIntervalMs: 100, logLevel: 'silent', hotReload: false });
  const a = await connectBus({ servers: server.url, name: 'bench-a' });
  const b = await connectBus({ servers: server.url, name: 'bench-b' });
  try {
    // Floor: one message at a time from one connection to another, through the same server.
    const floor: number[] = [];
    let got: (() => void) | undefined;
    const sub = b.subscribe('bench.rtt');
    void (async () => { for await (const _ of sub) got?.(); })();
    await b.flush();
    for (let i = 0; i < RTT_SAMPLES; i++) {
      const t0 = performance.now();
      await new Promise<void>((r) => { got = r; a.publish('bench.rtt', 'x'); });
      floor.push(performance.now() - t0);
    }
    sub.unsubscribe();
    const floorLine = { metric: 'nats_publish_receive', p50_ms: ms(pct(floor, 50)), p99_ms: ms(pct(floor, 99)), n: floor.length };

    const acks = new Map<number, Set<string>>();
    subscribeParsed(a, subjects.killAckAll(), KillAckSchema, (k) => { let s = acks.get(k.revision); if (!s) acks.set(k.revision, (s = new Set())); s.add(k.actorId); });
    await a.flush();
    const operator = await KillStore.open(a, { clock: systemClock, role: 'operator' });
    const open = () => sys.sim!.orders().filter((o) => o.status === 'OPEN').length;

    const trip = async (): Promise<{ ackMs: number; revision: number }> => {
      const t0 = performance.now();
      const r = await operator.raise(3, { kind: 'global' }, 'bench trip', 'operator:bench');
      await until(() => (acks.get(r.revision)?.size ?? 0) >= ACTORS, 'every actor to acknowledge');
      return { ackMs: performance.now() - t0, revision: r.revision };
    };
    const clear = async () => {
      const r = await operator.reset(0, { kind: 'global' }, 'bench reset', 'bench');
      await until(() => (acks.get(r.revision)?.size ?? 0) >= ACTORS, 'every actor to acknowledge the reset');
    };

    const ackTimes: number[] = [];
    for (let i = 0; i < ACK_ROUNDS; i++) {
      ackTimes.push((await trip()).ackMs);
      await clear();
    }
    const cancelTimes: number[] = [];
    for (let i = 0; i < CANCEL_ROUNDS; i++) {
      await until(() => open() >= ACTORS, `${ACTORS} resting orders at the exchange`, 60_000);
      const t0 = performance.now();
      await trip();
      await until(() => open() === 0, 'every open order cancelled', 60_000);
      cancelTimes.push(performance.now() - t0);
      await clear();
    }
    const line = (metric: string, xs: number[], extra: Record<string, unknown> = {}) =>
      process.stdout.write(`${JSON.stringify({ bench: 'kill', metric, actors: ACTORS, p50_ms: ms(pct(xs, 50)), p99_ms: ms(pct(xs, 99)), n: xs.length, ...extra, floor: floorLine })}\n`);
    line('level3_to_all_acks', ackTimes);
    line('level3_to_all_orders_cancelled', cancelTimes, { orders: ACTORS });
  } finally {
    await a.close();
    await b.close();
    await sys.stop();
    await server.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}
