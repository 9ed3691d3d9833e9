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

async function load(mode: 'paced' | 'flood'): Promise<void> {
  const server = await startNatsServer();
  const nc = await connectBus({ servers: server.url, name: 'tick-cost-feed' });
  answerStrategyState(nc);
  subscribeParsed(nc, subjects.lastTicks(), LastTicksRequestSchema, (_r, msg) => { msg.respond(encodeJson(LastTicksReplySchema, { ticks: [] })); });
  await nc.flush();
  const prof = process.env.BENCH_TICKCOST_PROF ? ['--cpu-prof', `--cpu-prof-dir=.scratch/prof/${mode}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', actorScript, server.url, SYMBOLS.join(',')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  try {
    await lines.next(); // ready
    const seq = new Map<string, number>();
    // Encoded as the broker does (actors/bus.ts encodeJson), one subject per instrument.
    const tick = (symbol: string, last: number) => {
      const s = (seq.get(symbol) ?? 0) + 1;
      seq.set(symbol, s);
      nc.publish(subjects.marketData('kite', symbol), encodeJson(TickSchema, { type: 'tick', venue: 'kite', symbol, seq: s, ts: Date.now(), recvTs: Date.now(), last, bid: last + 5 - 5, ask: last + 5, volume: 1000 + s }));
    };
    // Paced: one tick per instrument, then a round trip to the server, so each reaches the
    // actor on its own and the strategy takes every one (its whole cost per tick).
    const batch = mode === 'paced' ? SYMBOLS.length : 1_000;
    const total = mode === 'paced' ? N / 2 : N;
    for (let i = 0; i < total; i += batch) {
      for (let k = 0; k < batch; k++) tick(SYMBOLS[(i + k) % SYMBOLS.length]!, 150_000 + ((i + k) % 1000));
      await nc.flush();
    }
    await sleep(200);
    tick(SYMBOLS[0]!, 1);
    await nc.flush();
    const r = JSON.parse((await lines.next()).value as string) as { handled: number; received: number; conflated: number; lost: number; cpuMs: number; wallMs: number };
    process.stdout.write(`${JSON.stringify({ bench: 'tick-cost', mode, ...r, unit: 'us', cpuPerReceivedTick: Math.round((r.cpuMs * 1000 / r.received) * 100) / 100 })}\n`);
    await new Promise((r) => child.once('exit', r)); // it exits on its own (and writes its profile)
  } finally {
    if (child.exitCode === null) child.kill();
    await nc.close();
    await server.cleanup();
  }
}

export default async function (): Promise<void> {
  await load('paced');
  await load('flood');
}
