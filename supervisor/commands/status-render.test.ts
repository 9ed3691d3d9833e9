import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerStatusSchema } from '../ops-schemas.ts';
import { render } from './status.ts';

const broker = (externalPositions: unknown[]) => BrokerStatusSchema.parse({
  service: 'orch-broker', venues: [{ venue: 'kite', connected: true }], limiter: [],
  kill: { global: { level: 0, reason: '', by: '', ts: 0 }, strategies: {} },
  positions: [], externalPositions, pnl: [], openOrders: [], ts: 1,
});

test('orch status lists positions held outside the strategies, and says nothing of them when there are none', () => {
  const out = render(undefined, broker([{ venue: 'kite', symbol: 'NSE:INFY', qty: 3 }]));
  assert.match(out, /^Held outside the strategies \(baseline; never traded\)\nVENUE +SYMBOL +QTY\nkite +NSE:INFY +3$/m);
  assert.doesNotMatch(render(undefined, broker([])), /outside the strategies/);
});
