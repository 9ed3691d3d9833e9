import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { startHarness, probe } from '../../support/kill-harness.ts';
import { alertExpr, evaluatesTo } from '../../support/promtool-eval.ts';
import { scrape } from '../../support/scrape.ts';

/**
 * The daily-loss alert fires from a real loss: a strategy buys at the built-in exchange, the
 * exchange's price falls, and the alert's own expression (deploy/prometheus/alerts.yml),
 * evaluated by promtool over what /metrics serves, turns true for that strategy only.
 */
test('a position losing past its daily limit at the exchange makes OrchDailyLossLimitBreached true for that strategy', async () => {
  const h = await startHarness(renderRegistry([
    probe('loser', 'NSE:INFY', { buyOnTick: 1, buyQty: 10 }, { killTriggers: { dailyLoss: 50000 } }),
    probe('bystander', 'NSE:TCS', {}, { killTriggers: { dailyLoss: 50000 } }),
  ]), { metricsPort: 0 });
  try {
    const expr = `count by (strategy) (${alertExpr('OrchDailyLossLimitBreached')})`;
    await eventually(() => h.sys.broker.position('loser', 'NSE:INFY') === 10, 'the position filled');
    const before = evaluatesTo(expr, [await scrape(h.sys.metricsUrl!)], []);
    assert.ok(before.ok, `the alert is quiet before the loss:\n${before.output}`);

    const last = h.sys.broker.lastPrice('kite', 'NSE:INFY')!;
    // ₹100 down on 10 shares: a loss of ₹1000 against a limit of ₹500.
    h.sys.sim!.setPrice(408065, (last - 10_000) / 100);
    await eventually(() => h.sys.broker.lastPrice('kite', 'NSE:INFY')! <= last - 10_000, 'the fall reaches the broker');
    const after = evaluatesTo(expr, [await scrape(h.sys.metricsUrl!)], [{ labels: '{strategy="loser"}', value: 1 }]);
    assert.ok(after.ok, `the alert fires for the losing strategy:\n${after.output}`);
  } finally {
    await h.close();
  }
});
