import type { Clock, TimerHandle } from '../../actors/clock.ts';
import type { SimEngine, SimSide } from './engine.ts';
import { mulberry32 } from '../../actors/prng.ts';

/**
 * Background trading for paper mode, so resting orders on the built-in exchange get filled:
 * each market has a fair value that walks a cent at a time; market makers keep a few levels
 * around it, and takers now and then trade at the touch, sometimes clearing the whole level
 * (and with it any order of ours resting there, behind theirs in time). Seeded and driven by
 * the injected Clock, so a run is reproducible. Tests that need a still market leave it off.
 */
export type MarketFlowOptions = {
  clock: Clock;
  seed?: number;
  /** one round over every market per interval */
  intervalMs?: number;
  /** markets to animate; default all */
  markets?: readonly string[];
  /** market-maker levels kept each side of the fair value */
  levels?: number;
};

const CENT = 100;
const CONTRACT = 100;

export function startMarketFlow(engine: SimEngine, o: MarketFlowOptions): { stop(): void } {
  const rnd = mulberry32(o.seed ?? 7);
  const levels = o.levels ?? 3;
  const markets = o.markets ?? [...engine.markets.keys()];
  const fair = new Map<string, number>();
  for (const t of markets) {
    const top = engine.top(t);
    const mid = top.bid && top.ask ? Math.round((top.bid[0] + top.ask[0]) / 2 / CENT) * CENT : 50 * CENT;
    fair.set(t, mid);
  }

  const mmResting = (ticker: string, side: SimSide, price: number) => {
    for (const x of engine.orders.values()) {
      if (x.owner === 'mm' && x.status === 'resting' && x.ticker === ticker && x.side === side && x.price === price) return true;
    }
    return false;
  };

  const round = (ticker: string) => {
    const m = engine.markets.get(ticker);
    if (!m || m.status !== 'active') return;
    let f = fair.get(ticker)!;
    const r = rnd();
    if (r < 0.1) f -= CENT;
    else if (r > 0.9) f += CENT;
    f = Math.min(90 * CENT, Math.max(10 * CENT, f));
    fair.set(ticker, f);
    for (let i = 1; i <= levels; i++) {
      const size = (5 + Math.floor(rnd() * 20)) * CONTRACT;
      if (!mmResting(ticker, 'bid', f - i * CENT)) engine.place({ ticker, side: 'bid', price: f - i * CENT, count: size, timeInForce: 'good_till_canceled' }, 'mm');
      if (!mmResting(ticker, 'ask', f + i * CENT)) engine.place({ ticker, side: 'ask', price: f + i * CENT, count: size, timeInForce: 'good_till_canceled' }, 'mm');
    }
    if (rnd() < 0.5) return;
    // A taker: buys at the best ask or sells at the best bid; a third of them clear the level.
    const buy = rnd() < 0.5;
    const top = engine.top(ticker);
    const touch = buy ? top.ask : top.bid;
    if (!touch) return;
    const count = rnd() < 0.35 ? touch[1] : (1 + Math.floor(rnd() * 5)) * CONTRACT;
    engine.place({ ticker, side: buy ? 'bid' : 'ask', price: touch[0], count, timeInForce: 'immediate_or_cancel' }, 'mm');
  };

  const timer: TimerHandle = o.clock.setInterval(() => {
    for (const t of markets) {
      try {
        round(t);
      } catch {
        // a market that closed meanwhile: nothing to animate
      }
    }
  }, o.intervalMs ?? 1000);
  return { stop: () => o.clock.clearInterval(timer) };
}
