import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { requestParsed } from '../../../actors/bus.ts';
import { subjects } from '../../../actors/subjects.ts';
import { newIntentId } from '../../../actors/ids.ts';
import { IntentReplySchema, IntentSchema } from '../../../actors/messages.ts';
import { intentTag } from '../../../broker/kite/tag.ts';
import { FLATTEN_OWNER } from '../../../broker/kill/flatten.ts';
import { startHarness, probe, type Harness } from '../../support/kill-harness.ts';

/**
 * Market protection end to end on the built-in Kite exchange: a strategy's MARKET order and
 * level 4's closing orders arrive protected (the registry's figures), and the flatten follows
 * its order to flat when the band leaves the first one resting unfilled at its edge.
 */
const INFY = 408065;
let h: Harness;

before(async () => {
  h = await startHarness(renderRegistry(
    [{ ...probe('alpha', 'NSE:INFY', {}), marketProtection: 1.5 }],
    { flatten: { marketProtection: 2, followMs: 1500, maxReprices: 4 } },
  ));
  await eventually(() => h.sys.broker.lastPrice('kite', 'NSE:INFY'), 'an INFY price', 20_000);
});

after(async () => {
  await h?.close();
});

test("a strategy's MARKET order reaches Kite with the registry's market protection and fills", async () => {
  const intentId = newIntentId();
  const reply = await eventually(async () => {
    const r = await requestParsed(h.nc, subjects.intent('alpha'), IntentSchema, {
      action: 'place', intentId, strategyId: 'alpha', ts: Date.now(), venue: 'kite', symbol: 'NSE:INFY', side: 'BUY', qty: 8, orderType: 'MARKET',
    }, IntentReplySchema, 5_000);
    return r.status === 'accepted' || (r.status === 'denied' && r.rule !== 'not_reconciled') ? r : undefined;
  }, 'the MARKET intent decided', 20_000);
  assert.equal(reply.status, 'accepted', JSON.stringify(reply));
  const atExchange = h.sys.sim!.orders().filter((o) => o.tag === intentTag(intentId));
  assert.equal(atExchange.length, 1);
  assert.equal(atExchange[0]!.order_type, 'MARKET');
  assert.equal(atExchange[0]!.market_protection, 1.5);
  await eventually(() => h.sys.broker.position('alpha', 'NSE:INFY') === 8, 'the MARKET order filled', 20_000);
});

test('level 4 closes with protected MARKET orders and follows them to flat when the band leaves the first one resting', async () => {
  assert.deepEqual(await h.exchangePositions(), { 'NSE:INFY': 8 });
  const closing = () => {
    const ours = new Set(h.sys.broker.book.all().filter((o) => o.side === 'SELL' && (o.strategyId === 'alpha' || o.strategyId === FLATTEN_OWNER)).map((o) => intentTag(o.intentId)));
    return h.sys.sim!.orders().filter((o) => o.tag && ours.has(o.tag));
  };
  // Nothing on the book within any band: the first closing order cannot fill at all.
  h.sys.sim!.faults.thinBook(0);
  const r = await h.cli('kill', ['4', '--reason', 'flatten through the band']);
  assert.equal(r.code, 0, r.err);
  const first = await eventually(() => closing().find((o) => o.status === 'OPEN'), 'the first closing order resting at the exchange', 20_000);
  assert.equal(first.filled_quantity, 0);
  assert.equal(first.order_type, 'MARKET');
  assert.equal(first.market_protection, 2, 'the flatten setting, not the strategy\'s');
  // The market drops through the band and the book refills: the resting order's edge is now above
  // the market and can never fill; only a re-priced order closes the position.
  const edge = first.price;
  h.sys.sim!.setPrice(INFY, (edge * 0.95));
  h.sys.sim!.faults.thinBook(undefined);
  await eventually(async () => Object.keys(await h.exchangePositions()).length === 0, 'flat at the exchange', 30_000);
  await h.sys.killSwitch.controller.idle();
  const orders = closing();
  assert.ok(orders.length >= 2, `re-priced: ${orders.length} closing orders`);
  assert.equal(orders[0]!.status, 'CANCELLED', 'the clipped order was cancelled before another was sent');
  assert.equal(orders[0]!.filled_quantity, 0);
  assert.ok(orders.every((o) => o.order_type === 'MARKET' && o.market_protection === 2));
  assert.equal(orders.reduce((n, o) => n + o.filled_quantity, 0), 8, 'closed exactly the position: never sold twice');
  assert.equal(h.openAtExchange().length, 0);
  const report = h.sys.killSwitch.controller.lastFlatten!;
  assert.equal(report.flat, true);
  assert.ok(report.rounds >= 2);
  assert.equal(h.sys.broker.position('alpha', 'NSE:INFY'), 0, 'booked to the strategy that held it');
  const { registry } = await import('../../../actors/metrics.ts');
  const reprices = (await registry.getSingleMetric('orch_flatten_reprices_total')!.get()).values.find((v) => v.labels.venue === 'kite');
  assert.ok((reprices?.value ?? 0) >= 1);
  const unfinished = (await registry.getSingleMetric('orch_flatten_unfinished')!.get()).values.find((v) => v.labels.venue === 'kite');
  assert.equal(unfinished?.value, 0);
});
