import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerStatusSchema } from '../ops-schemas.ts';
import { render } from './status.ts';

const broker = (externalPositions: unknown[], more: Record<string, unknown> = {}) => BrokerStatusSchema.parse({
  service: 'orch-broker', venues: [{ venue: 'kite', connected: true }], limiter: [],
  kill: { global: { level: 0, reason: '', by: '', ts: 0 }, strategies: {} },
  positions: [], externalPositions, pnl: [], openOrders: [], ts: 1, ...more,
});

test('orch status lists positions held outside the strategies, and says nothing of them when there are none', () => {
  const out = render(undefined, broker([{ venue: 'kite', symbol: 'NSE:INFY', qty: 3 }]));
  assert.match(out, /^Held outside the strategies \(baseline; never traded\)\nVENUE +SYMBOL +QTY\nkite +NSE:INFY +3 shares$/m);
  assert.doesNotMatch(render(undefined, broker([])), /outside the strategies/);
});

test('orch status shows money and quantities in each venue\'s units: ₹ and shares for Kite, $ and contracts for Kalshi', () => {
  const out = render(undefined, broker([], {
    venues: [{ venue: 'kite', connected: true }, { venue: 'kalshi', connected: true }],
    positions: [
      { strategyId: 'mom', venue: 'kite', symbol: 'NSE:INFY', qty: 3, avgPrice: 150_050, lastPrice: 151_000, realized: -1_240 },
      { strategyId: 'q', venue: 'kalshi', symbol: 'KXFED-26DEC-T4.00', qty: -150, avgPrice: 5_500, lastPrice: 5_600, realized: 80_000 },
    ],
    pnl: [
      { strategyId: 'mom', venue: 'kite', realized: -1_240, unrealized: 2_850, total: 1_610, unpriced: [], openOrders: 0 },
      { strategyId: 'q', venue: 'kalshi', realized: 80_000, unrealized: -15_000, total: 65_000, unpriced: [], openOrders: 1 },
    ],
    openOrders: [{ intentId: 'i1', strategyId: 'q', venue: 'kalshi', symbol: 'KXFED-26DEC-T4.00', side: 'BUY', qty: 100, filledQty: 50, limitPrice: 5_400, state: 'open' }],
  }));
  assert.match(out, /^P&L per strategy \(Kite in ₹, quantities in shares; Kalshi in \$, quantities in contracts\)$/m);
  assert.match(out, /^mom +kite +-₹12\.40 +₹28\.50 +₹16\.10 +0/m);
  assert.match(out, /^q +kalshi +\$0\.08 +-\$0\.015 +\$0\.065 +1/m);
  assert.match(out, /^mom +kite +NSE:INFY +3 shares +₹1,500\.50 +₹1,510\.00 +-₹12\.40$/m);
  assert.match(out, /^q +kalshi +KXFED-26DEC-T4\.00 +-1\.5 contracts +\$0\.55 +\$0\.56 +\$0\.08$/m);
  assert.match(out, /^q +i1 +KXFED-26DEC-T4\.00 +BUY +1 contracts +0\.5 contracts +\$0\.54 +open$/m);
});
