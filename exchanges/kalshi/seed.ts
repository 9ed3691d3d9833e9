import type { SimEngine } from './engine.ts';
import { mulberry32 } from '../../actors/prng.ts';



export type SimSeries = { ticker: string; title: string; category: string; frequency: string };
export type SimEvent = { eventTicker: string; seriesTicker: string; title: string; subTitle: string; mutuallyExclusive: boolean };

export const SERIES: readonly SimSeries[] = [
  { ticker: 'KXFED', title: 'Fed funds target rate', category: 'Economics', frequency: 'custom' },
  { ticker: 'KXBTCD', title: 'Bitcoin price at 5pm', category: 'Crypto', frequency: 'daily' },
  { ticker: 'KXHIGHNY', title: 'Highest temperature in NYC', category: 'Climate and Weather', frequency: 'daily' },
];

const EVENTS: ReadonlyArray<SimEvent & { strikes: string[]; marketTitle: (s: string) => string }> = [
  { eventTicker: 'KXFED-26DEC', seriesTicker: 'KXFED', title: 'Fed rate after the December meeting', subTitle: 'Dec 2026', mutuallyExclusive: false,
    strikes: ['T3.75', 'T4.00', 'T4.25'], marketTitle: (s) => `Fed upper bound above ${s.slice(1)}%?` },
  { eventTicker: 'KXBTCD-26NOV2317', seriesTicker: 'KXBTCD', title: 'Bitcoin price on Nov 23, 2026 at 5pm EST?', subTitle: 'Nov 23', mutuallyExclusive: false,
    strikes: ['T99999.99', 'T104999.99'], marketTitle: (s) => `BTC above ${s.slice(1)}?` },
  { eventTicker: 'KXHIGHNY-26NOV23', seriesTicker: 'KXHIGHNY', title: 'Highest temperature in NYC on Nov 23, 2026?', subTitle: 'Nov 23', mutuallyExclusive: true,
    strikes: ['B50.5', 'B52.5'], marketTitle: (s) => `${s.slice(1)}° or so`, },
];

export function seedExchange(engine: SimEngine, seed: number, nowMs: number): { events: SimEvent[]; markets: string[] } {
  const rnd = mulberry32(seed);
  const markets: string[] = [];
  const events: SimEvent[] = [];
  for (const e of EVENTS) {
    events.push({ eventTicker: e.eventTicker, seriesTicker: e.seriesTicker, title: e.title, subTitle: e.subTitle, mutuallyExclusive: e.mutuallyExclusive });
    for (const strike of e.strikes) {
      const ticker = `${e.eventTicker}-${strike}`;
      markets.push(ticker);
      engine.addMarket({
        ticker, eventTicker: e.eventTicker, seriesTicker: e.seriesTicker, title: e.marketTitle(strike), status: 'active',
        openMs: nowMs - 86_400_000, closeMs: nowMs + 30 * 86_400_000, lastPrice: 0, volume: 0,
      });
      // Fair value 20c–80c; five levels a side, one cent apart, with a one-cent spread.
      const fairCents = 20 + Math.floor(rnd() * 61);
      for (let i = 1; i <= 5; i++) {
        const size = (10 + Math.floor(rnd() * 190)) * 100;
        engine.place({ ticker, side: 'bid', price: (fairCents - i) * 100, count: size, timeInForce: 'good_till_canceled' }, 'mm');
        engine.place({ ticker, side: 'ask', price: (fairCents + i) * 100, count: size, timeInForce: 'good_till_canceled' }, 'mm');
      }
    }
  }
  return { events, markets };
}
