/**
 * One strategy actor in a process of its own (bench/tick-cost.bench.ts starts it): counts the
 * ticks its handler gets and, on the tick priced `STOP`, prints the CPU this process used from
 * its first tick on. Run with `--cpu-prof` to see where the time goes.
 */
import { pino } from 'pino';
import { StrategyActor } from '../actors/strategy-actor.ts';
import { SystemClock } from '../actors/clock.ts';
import { spec } from '../test/support/specs.ts';
import type { Tick } from '../actors/messages.ts';

const [natsUrl, instruments, raw, expected] = process.argv.slice(2) as [string, string, string | undefined, string | undefined];
const STOP = 1;

if (raw === 'raw') {
  // The floor: the same subscriptions with no product code, a callback that counts.
  const { connectBus } = await import('../actors/bus.ts');
  const { subjects } = await import('../actors/subjects.ts');
  const nc = await connectBus({ servers: natsUrl, name: 'tick-cost-raw' });
  let received = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  const t0 = performance.now();
  for (const symbol of instruments.split(',')) {
    nc.subscribe(subjects.marketData('kite', symbol), {
      callback: () => {
        cpu0 ??= process.cpuUsage();
        if (++received < Number(expected)) return;
        const cpu = process.cpuUsage(cpu0);
        process.stdout.write(`${JSON.stringify({ received, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0 })}\n`);
        void nc.close().then(() => process.exit(0));
      },
    });
  }
  await nc.flush();
  process.stdout.write('ready\n');
} else {

let handled = 0;
let cpu0: NodeJS.CpuUsage | undefined;
let t0 = 0;
const actor = new StrategyActor({
  spec: spec('tick-cost', { instruments: instruments.split(',') }), natsUrl, clock: new SystemClock(), log: pino({ level: 'silent' }),
  module: {
    create: () => ({
      onTick: (t: Tick) => {
        cpu0 ??= process.cpuUsage();
        if (t0 === 0) t0 = performance.now();
        if (t.last !== STOP) { handled++; return; }
        const cpu = process.cpuUsage(cpu0);
        const h = actor.health();
        process.stdout.write(`${JSON.stringify({ handled, received: h.ticks, conflated: h.ticksConflated, lost: h.tickGaps, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0 })}\n`);
        void actor.stop().then(() => process.exit(0));
      },
    }),
  } as never,
});
await actor.start();
process.stdout.write('ready\n');
}
