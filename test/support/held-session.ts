import { pino } from 'pino';
import { TestClock } from '../../actors/clock.ts';
import { KillGate } from '../../actors/kill-gate.ts';
import { StrategySession } from '../../actors/strategy-session.ts';
import type { Tick } from '../../actors/messages.ts';
import type { StrategySpec } from '../../config/registry.ts';

/**
 * A started session on `instruments` whose strategy records each tick it takes (`symbol#seq`)
 * and is held on its first until `release()`: the ticks that arrive meanwhile wait for it.
 */
export function heldSession(instruments: string[]) {
  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  const seen: string[] = [];
  let conflated = 0;
  const gate = new KillGate();
  const s = new StrategySession({
    spec: { id: 's1', venue: 'kite', instruments, params: {} } as unknown as StrategySpec, clock: new TestClock(), log: pino({ level: 'silent' }), gate,
    module: { create: () => ({ onTick: async (t: Tick) => { seen.push(`${t.symbol}#${t.seq}`); if (seen.length === 1) await held; } }) } as never,
    send: async (i) => ({ status: 'accepted', intentId: i.intentId }),
    onCrash: (err) => { throw err; },
    onConflated: (n = 1) => { conflated += n; },
    killLevel: () => gate.level(),
    brokerConnected: () => true,
  });
  s.create();
  s.start();
  return { s, seen, release, conflated: () => conflated };
}
