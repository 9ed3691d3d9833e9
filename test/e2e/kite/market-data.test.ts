import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { renderRegistry } from '../../support/registry.ts';
import { RISK, startE2E, trader, type E2E } from '../../support/kite-harness.ts';
import type { BrokerEvent } from '../../../actors/messages.ts';
import { eventually } from '../../support/wait.ts';

/** The ticker's reconnect protocol seen from the outside: events, refusals, resumed ticks in their mode. */

let e: E2E;

before(async () => {
  e = await startE2E({
    yaml: renderRegistry([{ id: 'pauser', module: trader, instruments: ['NSE:INFY'], params: { placeOnDisconnect: true, through: -2000 }, risk: RISK }]),
    // Full mode, so resumed ticks prove the mode came back (a bare resubscribe streams quote).
    system: { env: { KITE_TICK_MODE: 'full' } },
  });
  await eventually(() => e.ticks.some((t) => t.symbol === 'NSE:INFY' && t.bid !== undefined), 'full-mode ticks');
  // The strategy is listening (its worker has seen ticks), so it hears the disconnects.
  await eventually(() => (e.strategyTicks.get('pauser') ?? 0) > 0, 'the strategy to see ticks');
});

after(async () => {
  await e?.stop();
});

const kinds = (evs: BrokerEvent[]) => evs.map((x) => x.type).filter((t) => t === 'BrokerDisconnected' || t === 'BrokerReconnected');

async function outage(cause: () => void, heal?: () => void, holdMs = 0): Promise<void> {
  const ev0 = e.events.length;
  const denied0 = e.replies.filter((r) => r.status === 'denied' && r.rule === 'broker_disconnected').length;
  cause();
  await eventually(() => kinds(e.events.slice(ev0)).includes('BrokerDisconnected'), 'BrokerDisconnected');
  // The strategy placed on hearing the disconnect: refused, with the reason named.
  const denial = await eventually(() => e.replies.filter((r) => r.status === 'denied' && r.rule === 'broker_disconnected')[denied0], 'a broker_disconnected denial');
  assert.equal(denial.status, 'denied');
  assert.match(denial.status === 'denied' ? denial.reason : '', /disconnected/);
  if (holdMs) {
    const until0 = e.clock.now() + holdMs;
    await eventually(() => e.clock.now() >= until0, 'time to pass while refused');
    assert.ok(!kinds(e.events.slice(ev0)).includes('BrokerReconnected'), 'no reconnect while the exchange refuses the socket');
  }
  heal?.();
  await eventually(() => kinds(e.events.slice(ev0)).includes('BrokerReconnected'), 'BrokerReconnected');
  const seq = kinds(e.events.slice(ev0));
  assert.equal(seq[0], 'BrokerDisconnected', `first event of the outage: ${seq.join(',')}`);
  assert.ok(seq.indexOf('BrokerReconnected') > seq.indexOf('BrokerDisconnected'));
  // Ticks resume, in full mode again.
  const t0 = e.ticks.length;
  await eventually(() => e.ticks.slice(t0).filter((t) => t.symbol === 'NSE:INFY' && t.bid !== undefined && t.ask !== undefined).length >= 3, 'full-mode ticks after the reconnect');
}

test('a dropped ticker socket: BrokerDisconnected, submissions refused, BrokerReconnected, ticks resume in their mode', async () => {
  await outage(() => e.sys.sim!.faults.dropSockets());
});

test('a stalled ticker socket (no heartbeat) counts as a disconnect and recovers the same way', async () => {
  await outage(() => e.sys.sim!.faults.stallSockets(7_000));
});

test('an exchange refusing the socket keeps the broker disconnected until it accepts again', async () => {
  const faults = e.sys.sim!.faults;
  await outage(() => {
    faults.refuseSockets(true);
    faults.dropSockets();
  }, () => faults.refuseSockets(false), 8_000);
  assert.match(await (await fetch(e.sys.metricsUrl!)).text(), /orch_ws_connected\{venue="kite"\} 1/);
});
