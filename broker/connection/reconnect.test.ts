import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TIMING, initialPhase, reconnectDelay, step, type ConnPhase, type Effect, type Input } from './reconnect.ts';
import { backoffCeiling, RECONNECT_BACKOFF } from './backoff.ts';

const mid = () => 0.5;
const T0 = 1_000_000;

/**
 * Runs inputs through the machine, collecting effect types; `at` gives each input's time. With
 * `ackResubscribe` (Kite's shell) a `resubscribe` effect is answered by `resubscribed` at once;
 * without it (Kalshi's, whose commands are answered later) the test feeds it.
 */
function run(inputs: [at: number, input: Input][], start: ConnPhase = initialPhase(T0).state, ackResubscribe = true) {
  let s = start;
  const effects: Effect[] = [];
  const feed = (at: number, input: Input) => {
    const r = step(s, input, at, mid);
    s = r.state;
    for (const e of r.effects) {
      effects.push(e);
      if (e.type === 'resubscribe' && ackResubscribe) feed(at, { type: 'resubscribed' });
    }
  };
  for (const [at, input] of inputs) feed(at, input);
  return { state: s, effects, types: effects.map((e) => e.type) };
}
const open = (at: number): [number, Input] => [at, { type: 'socket_open' }];
const lost = (at: number, reason: 'closed' | 'error' = 'closed'): [number, Input] => [at, { type: 'socket_lost', reason }];
const due = (at: number): [number, Input] => [at, { type: 'retry_due' }];
const check = (at: number, marketOpen = true, hasSubscriptions = true): [number, Input] => [at, { type: 'check', marketOpen, hasSubscriptions }];

test('the reconnect wait is full jitter under 1, 2, 4, 8, 16, 30 s, and stays under 30 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map((a) => backoffCeiling(a, RECONNECT_BACKOFF)), [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  for (const a of [0, 3, 9]) {
    assert.equal(reconnectDelay(a, () => 0), 0);
    assert.equal(reconnectDelay(a, () => 0.9999), Math.floor(0.9999 * backoffCeiling(a, RECONNECT_BACKOFF)));
  }
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((a) => reconnectDelay(a, mid)), [500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
});

test('the first connect resubscribes and resumes without announcing a reconnect', () => {
  const r = run([open(T0 + 5)]);
  assert.deepEqual(r.types, ['resubscribe', 'resume']);
  assert.equal(r.state.kind, 'open');
});

test('a dropped socket goes through all eight steps in order', () => {
  const r = run([open(T0), lost(T0 + 100), due(T0 + 1100), open(T0 + 1200)]);
  assert.deepEqual(r.types, [
    'resubscribe', 'resume', // initial connect
    'close_socket', 'emit_disconnected', 'schedule_retry', // detect → disconnected → back off
    'open_socket', // reconnect
    'resubscribe', 'emit_reconnected', 'emit_reconcile', 'resume',
  ]);
  assert.deepEqual(r.effects.find((e) => e.type === 'schedule_retry'), { type: 'schedule_retry', delayMs: 500, attempt: 0 });
  assert.deepEqual(r.effects.find((e) => e.type === 'emit_reconnected'), { type: 'emit_reconnected', downMs: 1100, attempts: 1 });
  assert.deepEqual(r.effects.find((e) => e.type === 'emit_disconnected'), { type: 'emit_disconnected', reason: 'closed', since: T0 + 100 });
});

test('failed reconnects back off further without announcing the outage again', () => {
  const inputs: [number, Input][] = [open(T0), lost(T0)];
  let t = T0;
  for (let i = 0; i < 7; i++) inputs.push(due((t += 1000)), lost(t, 'error'));
  const r = run(inputs);
  assert.equal(r.types.filter((x) => x === 'emit_disconnected').length, 1);
  const delays = r.effects.flatMap((e) => (e.type === 'schedule_retry' ? [e.delayMs] : []));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  assert.deepEqual(r.state, { kind: 'disconnected', since: T0, attempt: 7, reason: 'error' });
});

test('after a long outage the reconnect reports the whole downtime and the number of attempts', () => {
  const r = run([open(T0), lost(T0), due(T0 + 1000), lost(T0 + 1000), due(T0 + 3000), open(T0 + 3050)]);
  assert.deepEqual(r.effects.find((e) => e.type === 'emit_reconnected'), { type: 'emit_reconnected', downMs: 3050, attempts: 2 });
});

test('a close and an error for the same socket count as one disconnect', () => {
  const r = run([open(T0), lost(T0 + 1, 'error'), lost(T0 + 2, 'closed')]);
  assert.equal(r.types.filter((x) => x === 'emit_disconnected').length, 1);
  assert.equal(r.types.filter((x) => x === 'schedule_retry').length, 1);
});

test('five seconds without any frame, heartbeats included, is a dead socket', () => {
  const quiet = run([open(T0), check(T0 + 4999)]);
  assert.equal(quiet.state.kind, 'open');
  const dead = run([open(T0), check(T0 + 5000)]);
  assert.equal(dead.state.kind, 'disconnected');
  assert.equal(dead.effects.find((e) => e.type === 'emit_disconnected')?.type === 'emit_disconnected' && (dead.effects.find((e) => e.type === 'emit_disconnected') as { reason: string }).reason, 'silent');
});

test('heartbeats alone keep the socket alive, but not a feed without ticks for 60 s in market hours', () => {
  const inputs: [number, Input][] = [open(T0)];
  for (let t = 1000; t <= 59_000; t += 1000) inputs.push([T0 + t, { type: 'frame', tick: false }], check(T0 + t));
  assert.equal(run(inputs).state.kind, 'open');
  inputs.push([T0 + 60_000, { type: 'frame', tick: false }], check(T0 + 60_000));
  const r = run(inputs);
  assert.equal(r.state.kind === 'disconnected' && r.state.reason, 'stale');
});

test('no ticks is normal outside market hours or with nothing subscribed', () => {
  for (const [marketOpen, hasSubs] of [[false, true], [true, false]] as const) {
    const inputs: [number, Input][] = [open(T0)];
    for (let t = 1000; t <= 120_000; t += 1000) inputs.push([T0 + t, { type: 'frame', tick: false }], check(T0 + t, marketOpen, hasSubs));
    assert.equal(run(inputs).state.kind, 'open', `market ${marketOpen} subs ${hasSubs}`);
  }
  // ...and the stale clock starts when the market opens, not at yesterday's last tick.
  const inputs: [number, Input][] = [open(T0)];
  for (let t = 1000; t <= 30_000; t += 1000) inputs.push([T0 + t, { type: 'frame', tick: false }], check(T0 + t, false));
  for (let t = 31_000; t <= 89_000; t += 1000) inputs.push([T0 + t, { type: 'frame', tick: false }], check(T0 + t, true));
  assert.equal(run(inputs).state.kind, 'open');
});

test('ticks reset the stale clock', () => {
  const inputs: [number, Input][] = [open(T0)];
  for (let t = 1000; t <= 180_000; t += 1000) inputs.push([T0 + t, { type: 'frame', tick: t % 50_000 === 0 }], check(T0 + t));
  assert.equal(run(inputs).state.kind, 'open');
});

test('a handshake that hangs is abandoned after the connect timeout', () => {
  assert.equal(run([check(T0 + DEFAULT_TIMING.connectTimeoutMs - 1)]).state.kind, 'connecting');
  const r = run([check(T0 + DEFAULT_TIMING.connectTimeoutMs)]);
  assert.equal(r.state.kind === 'disconnected' && r.state.reason, 'connect_timeout');
});

test('a first connect that fails is announced and retried like any outage', () => {
  const r = run([lost(T0 + 3, 'error'), due(T0 + 1003), open(T0 + 1010)]);
  assert.deepEqual(r.types, ['close_socket', 'emit_disconnected', 'schedule_retry', 'open_socket', 'resubscribe', 'emit_reconnected', 'emit_reconcile', 'resume']);
});

test('closing stops everything, from any phase, and nothing restarts it', () => {
  const phases: ConnPhase[] = [
    initialPhase(T0).state,
    { kind: 'open', since: T0, lastFrameAt: T0, lastTickAt: T0 },
    { kind: 'disconnected', since: T0, attempt: 2, reason: 'closed' },
  ];
  for (const p of phases) {
    const r = run([[T0, { type: 'close' }], due(T0 + 1), open(T0 + 2), lost(T0 + 3), check(T0 + 100_000)], p);
    assert.deepEqual(r.types, ['cancel_retry', 'close_socket'], p.kind);
    assert.equal(r.state.kind, 'closed');
  }
});

test('inputs that do not apply to a phase change nothing', () => {
  const openPhase: ConnPhase = { kind: 'open', since: T0, lastFrameAt: T0, lastTickAt: T0 };
  for (const input of [{ type: 'socket_open' }, { type: 'retry_due' }] as Input[]) assert.deepEqual(step(openPhase, input, T0, mid), { state: openPhase, effects: [] });
  const down: ConnPhase = { kind: 'disconnected', since: T0, attempt: 0, reason: 'closed' };
  for (const input of [{ type: 'socket_open' }, { type: 'frame', tick: true }, { type: 'check', marketOpen: true, hasSubscriptions: true }] as Input[]) {
    assert.deepEqual(step(down, input, T0 + 99_999, mid), { state: down, effects: [] });
  }
});

test('a venue that answers subscriptions (Kalshi) is announced back only once they are all taken again', () => {
  const r = run([open(T0), lost(T0 + 100), due(T0 + 600), open(T0 + 700)], initialPhase(T0).state, false);
  assert.equal(r.state.kind, 'resubscribing');
  assert.deepEqual(r.types.slice(-2), ['open_socket', 'resubscribe']);
  assert.ok(!r.types.includes('emit_reconnected'));
  const done = step(r.state, { type: 'resubscribed' }, T0 + 900, mid);
  assert.deepEqual(done.effects.map((e) => e.type), ['emit_reconnected', 'emit_reconcile', 'resume']);
  assert.deepEqual(done.effects[0], { type: 'emit_reconnected', downMs: 800, attempts: 1 });
  assert.equal(done.state.kind, 'open');
});

test('a resubscription that fails or hangs is the same outage, retried after a longer wait', () => {
  const resubscribing: ConnPhase = { kind: 'resubscribing', startedAt: T0, attempt: 2, downSince: T0 - 5_000 };
  const failed = step(resubscribing, { type: 'socket_lost', reason: 'resubscribe_failed' }, T0 + 10, mid);
  assert.deepEqual(failed.state, { kind: 'disconnected', since: T0 - 5_000, attempt: 2, reason: 'resubscribe_failed' });
  assert.deepEqual(failed.effects, [{ type: 'close_socket' }, { type: 'schedule_retry', delayMs: reconnectDelay(2, mid), attempt: 2 }]);
  assert.equal(step(resubscribing, { type: 'check', marketOpen: true, hasSubscriptions: true }, T0 + DEFAULT_TIMING.connectTimeoutMs - 1, mid).state.kind, 'resubscribing');
  const hung = step(resubscribing, { type: 'check', marketOpen: true, hasSubscriptions: true }, T0 + DEFAULT_TIMING.connectTimeoutMs, mid);
  assert.equal(hung.state.kind === 'disconnected' && hung.state.reason, 'connect_timeout');
  assert.deepEqual(step(resubscribing, { type: 'frame', tick: true }, T0 + 1, mid), { state: resubscribing, effects: [] });
});

test('a first connect whose subscriptions fail is announced and retried like any outage', () => {
  const r = run([open(T0 + 1), lost(T0 + 2, 'error')], initialPhase(T0).state, false);
  assert.deepEqual(r.types, ['resubscribe', 'close_socket', 'emit_disconnected', 'schedule_retry']);
});
