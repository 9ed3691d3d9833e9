/**
 * CPU per tick in one strategy actor: what each strategy worker spends on every tick it is sent
 * (NATS client, decoding, validation, the session), the figure that sets the capacity of a host
 * (bench/capacity.bench.ts). The actor runs in a process of its own, so its CPU is its own;
 * CPU time, unlike latency, hardly depends on what else the machine runs. Two loads:
 * `paced` (one tick per instrument at a time: the handler takes nearly every one) and `flood` (published as fast
 * as NATS takes them: the actor falls behind and the latest-tick policy conflates).
 *
 * `BENCH_TICKCOST_N` ticks per load (default 100,000); `BENCH_TICKCOST_PROF=1` writes a CPU
 * profile of the actor to .scratch/prof (git ignores it).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startNatsServer } from '../test/support/nats-server.ts';
import { answerStrategyState } from '../test/support/broker-state.ts';
import { connectBus, encodeJson, subscribeParsed } from '../actors/bus.ts';
import { subjects } from '../actors/subjects.ts';
import { LastTicksReplySchema, LastTicksRequestSchema, TickSchema } from '../actors/messages.ts';

const N = Number(process.env.BENCH_TICKCOST_N ?? 100_000);
const SYMBOLS = ['NSE:INFY', 'NSE:TCS'];
const actorScript = fileURLToPath(new URL('./tick-cost-actor.mts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Figures = { received: number; cpuMs: number; wallMs: number; handled?: number; conflated?: number; lost?: number };

/** One load on a fresh server: the strategy actor, or (`raw`) bare subscriptions, as the receiver. */
async function load(mode: 'paced' | 'flood', raw: boolean): Promise<Figures> {
  const server = await startNatsServer();
  const nc = await connectBus({ servers: server.url, name: 'tick-cost-feed' });
  answerStrategyState(nc);
  subscribeParsed(nc, subjects.lastTicks(), LastTicksRequestSchema, (_r, msg) => { msg.respond(encodeJson(LastTicksReplySchema, { ticks: [] })); });
  await nc.flush();
  const prof = process.env.BENCH_TICKCOST_PROF ? ['--cpu-prof', `--cpu-prof-dir=.scratch/prof/${mode}`] : [];
  const batch = mode === 'paced' ? SYMBOLS.length : 1_000;
  const total = mode === 'paced' ? N / 2 : N;
  const child = spawn(process.execPath, [...(raw ? [] : prof), '--import', 'tsx', actorScript, server.url, SYMBOLS.join(','), ...(raw ? ['raw', String(total + 1)] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  try {
    await lines.next(); // ready
    const seq = new Map<string, number>();
    // Encoded as the broker does (actors/bus.ts encodeJson), one subject per instrument.
    const tick = (symbol: string, last: number) => {
      const s = (seq.get(symbol) ?? 0) + 1;
      seq.set(symbol, s);
      nc.publish(subjects.marketData('kite', symbol), encodeJson(TickSchema, { type: 'tick', venue: 'kite', symbol, seq: s, ts: Date.now(), recvTs: Date.now(), last, bid: last, ask: last + 5, volume: 1000 + s }));
    };
    // Paced: one tick per instrument, then a round trip to the server, so each reaches the
    // actor on its own and the strategy takes nearly every one (its whole cost per tick).
    for (let i = 0; i < total; i += batch) {
      for (let k = 0; k < batch; k++) tick(SYMBOLS[(i + k) % SYMBOLS.length]!, 150_000 + ((i + k) % 1000));
      await nc.flush();
    }
    await sleep(200);
    tick(SYMBOLS[0]!, 1);
    await nc.flush();
    const r = JSON.parse((await lines.next()).value as string) as Figures;
    await new Promise((r) => child.once('exit', r)); // it exits on its own (and writes its profile)
    return r;
  } finally {
    if (child.exitCode === null) child.kill();
    await nc.close();
    await server.cleanup();
  }
}

const perTick = (f: Figures) => Math.round((f.cpuMs * 1000 / f.received) * 100) / 100;

export default async function (): Promise<void> {
  for (const mode of ['paced', 'flood'] as const) {
    const floor = await load(mode, true);
    const r = await load(mode, false);
    process.stdout.write(`${JSON.stringify({
      bench: 'tick-cost', mode, unit: 'us', cpuPerReceivedTick: perTick(r), received: r.received, handled: r.handled, conflated: r.conflated, lost: r.lost, cpuMs: Math.round(r.cpuMs), wallMs: Math.round(r.wallMs),
      floor: { bench: 'the same ticks to bare NATS subscriptions in a process of their own, no product code', cpuPerReceivedTick: perTick(floor) },
    })}\n`);
  }
}
