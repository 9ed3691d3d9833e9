import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../actors/clock.ts';
import { tickEpoch, type Tick } from '../actors/messages.ts';
import { MarketData } from './market-data.ts';

const venueTick = (last: number) => ({ symbol: 'NSE:INFY', ts: 1, last });

test('a broker numbers its ticks in its lease epoch, so a standby that takes over numbers above every tick its predecessor published', () => {
  const clock = new TestClock();
  const published: Tick[] = [];
  const old = new MarketData({ clock, publish: (t) => published.push(t) });
  old.setEpoch(1_796_000_000);
  for (let i = 0; i < 5_000; i++) old.onTick('kite', venueTick(150_000 + i));
  const oldLast = published.at(-1)!.seq;
  // The standby took the lease: a later epoch, counting its ticks from 1 again.
  const successor = new MarketData({ clock, publish: (t) => published.push(t) });
  successor.setEpoch(1_796_000_001);
  successor.onTick('kite', venueTick(150_100));
  successor.onTick('kite', venueTick(150_200));
  const [first, second] = published.slice(-2).map((t) => t.seq);
  assert.ok(first! > oldLast, `the successor's first tick (${first}) follows the last one strategies saw (${oldLast})`);
  assert.equal(second, first! + 1, 'consecutive within a broker, so a gap still shows');
  assert.equal(tickEpoch(first!), 1_796_000_001);
  assert.equal(tickEpoch(oldLast), 1_796_000_000);
});
