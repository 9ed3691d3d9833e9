import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { eventually } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { startHarness, probe, tickRound } from '../../support/kill-harness.ts';
import { STREAM_EVENTS } from '../../../actors/subjects.ts';
import type { IntentReply } from '../../../actors/messages.ts';
import { alertExpr, evaluatesTo } from '../../support/promtool-eval.ts';
import { scrape } from '../../support/scrape.ts';

/**
 * A full event log refuses new events loudly and drops none: orders are denied
 * event_log_unavailable before any write, the oldest entries are all still there, and the
 * near-full and full alerts' own expressions turn true over what /metrics serves.
 */
test('at its size limit the event log refuses new orders (event_log_unavailable), keeps its oldest entries, and both event-log alerts fire', async () => {
  const h = await startHarness(renderRegistry([probe('filler', 'NSE:INFY', {})]), { metricsPort: 0, eventLogMaxBytes: 32 * 1024 });
  try {
    const first = await scrape(h.sys.metricsUrl!);
    const last = await eventually(() => h.sys.broker.lastPrice('kite', 'NSE:INFY'), 'a price for NSE:INFY');
    // Resting orders away from the market on both sides (each side stays within maxPosition):
    // each one logs intent, decision, write-ahead, answer, state.
    const below = tickRound(last - Math.floor(last / 20));
    const above = tickRound(last + Math.floor(last / 20));
    let reply: IntentReply | undefined;
    for (let i = 0; i < 40 && !(reply?.status === 'denied'); i++) reply = await h.intent('filler', i % 2 ? 'SELL' : 'BUY', 1, 'NSE:INFY', i % 2 ? above : below);
    assert.equal(reply?.status, 'denied', 'the log filled before the open-order limit');
    assert.equal(reply.status === 'denied' && reply.rule, 'event_log_unavailable');
    assert.match(reply.status === 'denied' ? reply.reason : '', /event log full/);
    const orders = h.sys.sim!.orders().length;
    const again = await h.intent('filler', 'BUY', 1, 'NSE:INFY', below);
    assert.equal(again.status === 'denied' && again.rule, 'event_log_unavailable', 'refused again, not queued');
    assert.equal(h.sys.sim!.orders().length, orders, 'no order reached the exchange without its log entry');

    const info = await (await jetstreamManager(h.nc)).streams.info(STREAM_EVENTS);
    assert.equal(info.state.first_seq, 1, 'no entry was discarded to make room');

    // The usage gauges follow the stream (checked every 5 s).
    const full = await eventually(async () => {
      const s = await scrape(h.sys.metricsUrl!);
      const bytes = Number(s.find((x) => x.name === 'orch_event_log_bytes')?.value);
      return bytes > 0.8 * 32 * 1024 ? s : undefined;
    }, 'orch_event_log_bytes past 80%', 15_000);
    for (const alert of ['OrchEventLogNearFull', 'OrchEventLogFull']) {
      const r = evaluatesTo(`count(${alertExpr(alert)})`, [first, full], [{ labels: '{}', value: 1 }]);
      assert.ok(r.ok, `${alert} fires:\n${r.output}`);
    }
  } finally {
    await h.close();
  }
});
