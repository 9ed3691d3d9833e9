/**
 * The kill benchmark's operator, in a thread of its own: it raises level 3, stamps each
 * strategy's acknowledgements as they arrive, and resets, round after round. Off the main
 * thread because that thread also hosts the system under test (broker, built-in exchange,
 * tick flow): measured there, a kill would be timed by how soon that busy loop looked up,
 * not by when the strategies were halted. `orch kill` is a process of its own too.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { compileModule } from '../supervisor/worker-code.ts';
import { connectBus, subscribeParsed } from '../actors/bus.ts';
import { systemClock } from '../actors/clock.ts';
import { subjects } from '../actors/subjects.ts';
import { KillAckSchema, KillMessageSchema } from '../actors/messages.ts';
import { KillStore } from '../broker/kill/kill-store.ts';

type Job = { natsUrl: string; actors: number; rounds: number; pauseMs: number };
export type Round = { ackMs: number; workerAckMs: number };

/** Runs `rounds` trips and resets in a new thread; resolves with each trip's figures. */
export async function operatorRounds(job: Job): Promise<Round[]> {
  // Workers do not inherit the TypeScript loader: compiled as the strategy workers are.
  const code = await compileModule(fileURLToPath(import.meta.url));
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(code.url), { workerData: job });
    w.once('message', (m: Round[]) => { resolve(m); void w.terminate(); void code.release(); });
    w.once('error', reject);
  });
}

if (!isMainThread && parentPort) {
  const job = workerData as Job;
  const nc = await connectBus({ servers: job.natsUrl, name: 'bench-operator' });
  let want = -1;
  const first = new Set<string>();
  const worker = new Set<string>();
  let allFirstAt = 0;
  let allWorkersAt = 0;
  let done: (() => void) | undefined;
  subscribeParsed(nc, subjects.killAckAll(), KillAckSchema, (k) => {
    if (k.level !== want) return;
    first.add(k.actorId);
    if (k.via !== 'gate') worker.add(k.actorId);
    if (first.size === job.actors && !allFirstAt) allFirstAt = performance.now();
    if (worker.size === job.actors && !allWorkersAt) { allWorkersAt = performance.now(); done?.(); }
  }, { sync: true });
  await nc.flush();
  const operator = await KillStore.open(nc, { clock: systemClock, role: 'operator' });
  // The measuring side warms up its own parse and encode, so round one times the system, not
  // this thread's first compile (`orch kill` pays that before its broadcast leaves, untimed).
  for (let i = 0; i < 32; i++) {
    KillAckSchema.parse({ type: 'kill_ack', actorId: 'warm-up', revision: i, level: 3, ts: Date.now(), via: 'gate', provisional: true });
    KillMessageSchema.parse({ type: 'kill', level: 3, scope: { kind: 'global' }, reason: 'warm-up', by: 'operator', ts: Date.now(), revision: i, provisional: true });
  }
  const settle = (level: number) => {
    want = level; first.clear(); worker.clear(); allFirstAt = 0; allWorkersAt = 0;
    return new Promise<void>((r) => { done = r; });
  };
  const rounds: Round[] = [];
  for (let i = 0; i < job.rounds; i++) {
    const acked = settle(3);
    const t0 = performance.now();
    await operator.raise(3, { kind: 'global' }, 'bench trip', 'operator:bench');
    await acked;
    rounds.push({ ackMs: allFirstAt - t0, workerAckMs: allWorkersAt - t0 });
    const reset = settle(0);
    await operator.reset(0, { kind: 'global' }, 'bench reset', 'bench');
    await reset;
    await new Promise((r) => setTimeout(r, job.pauseMs));
  }
  await nc.close();
  parentPort.postMessage(rounds);
}
