import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.ts';
import { connectBus } from '../../../actors/bus.ts';
import { EventLog, ensureEventStream, readEvents } from '../../../broker/event-log.ts';
import type { LogEvent } from '../../../broker/events/schema.ts';
import { parseSince, runEvents } from '../../../supervisor/commands/events.ts';
import { subjects } from '../../../actors/subjects.ts';
import { eventually } from '../../support/wait.ts';

let server: NatsServerHandle;
let nc: NatsConnection;
const T = Date.UTC(2026, 10, 23, 4, 0, 0);
const place = (strategyId: string, intentId: string): LogEvent[] => [
  { kind: 'intent', strategyId, intentId, ts: T, intent: { action: 'place', intentId, strategyId, ts: T, venue: 'kite', symbol: 'NSE:INFY', side: 'BUY', qty: 2, orderType: 'LIMIT', limitPrice: 150_000 } },
  { kind: 'decision', strategyId, intentId, ts: T, decision: 'accepted' },
  { kind: 'fill', strategyId, intentId, ts: T, venue: 'kite', venueOrderId: `V${intentId}`, symbol: 'NSE:INFY', side: 'BUY', fill: { fillId: `V${intentId}:2`, qty: 2, price: 150_000, ts: T } },
];

before(async () => {
  server = await startNatsServer();
  nc = await connectBus({ servers: server.url, name: 'events-cli' });
  await ensureEventStream(nc);
  const log = new EventLog(nc, pino({ level: 'silent' }));
  for (const e of [...place('alpha', 'a1'), ...place('beta', 'b1'), ...place('alpha', 'a2')]) await log.append(e);
  // The same fill appended twice with its id is stored once.
  await log.append(place('alpha', 'a2')[2]!, 'fill:Va2:2');
  await log.append(place('alpha', 'a2')[2]!, 'fill:Va2:2');
  // Something that is not an event: skipped by readers, reported.
  nc.publish(subjects.event('fill', 'alpha'), '{"kind":"fill"}');
  await nc.flush();
});
after(async () => {
  await nc.close();
  await server.cleanup();
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

test('orch events prints one readable line per event, filtered by strategy and intent', async () => {
  const c = capture();
  assert.equal(await runEvents(['--nats', server.url, '--strategy', 'alpha'], {}, c.io), 0);
  const lines = c.out.join('').trim().split('\n');
  assert.equal(lines.length, 7, lines.join('\n')); // 3 + 3 + the deduplicated fill
  assert.ok(lines.every((l) => l.includes('strategy=alpha')));
  assert.match(lines[0]!, /#\d+ intent +strategy=alpha intent=a1 +place BUY 2 kite:NSE:INFY LIMIT @ 150000/);
  assert.match(c.err.join(''), /is not valid/);

  const one = capture();
  await runEvents(['--nats', server.url, '--intent', 'b1'], {}, one.io);
  assert.deepEqual(one.out.join('').trim().split('\n').map((l) => l.split(/\s+/)[2]), ['intent', 'decision', 'fill']);
});

test('orch events --json --last N prints the newest N events as JSON that parses back', async () => {
  const c = capture();
  assert.equal(await runEvents(['--nats', server.url, '--json', '--last', '2'], {}, c.io), 0);
  const rows = c.out.join('').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; kind: string; intentId: string });
  assert.equal(rows.length, 2);
  const all: number[] = [];
  for await (const e of readEvents(nc)) all.push(e.seq);
  assert.deepEqual(rows.map((r) => r.seq), all.slice(-2));
  assert.equal(rows[1]!.kind, 'fill');
});

test('orch events refuses a bad --since and a --since with --last', async () => {
  const c = capture();
  assert.equal(await runEvents(['--nats', server.url, '--since', 'yesterday'], {}, c.io), 2);
  assert.equal(await runEvents(['--nats', server.url, '--since', '2026-01-01T00:00:00Z', '--last', '3'], {}, c.io), 2);
  const later = capture();
  assert.equal(await runEvents(['--nats', server.url, '--since', new Date(Date.now() + 60_000).toISOString()], {}, later.io), 0);
  assert.equal(later.out.join(''), '');
});

test('--since takes a duration back from now (30s, 5m, 1h, 2d) or an ISO date/time, and nothing else', () => {
  const now = Date.UTC(2026, 11, 3, 10, 0, 0);
  assert.equal(parseSince('5m', now)?.toISOString(), '2026-12-03T09:55:00.000Z');
  assert.equal(parseSince('1h', now)?.toISOString(), '2026-12-03T09:00:00.000Z');
  assert.equal(parseSince('2d', now)?.toISOString(), '2026-12-01T10:00:00.000Z');
  assert.equal(parseSince('30s', now)?.toISOString(), '2026-12-03T09:59:30.000Z');
  assert.equal(parseSince('2026-11-23T04:00:00Z', now)?.toISOString(), '2026-11-23T04:00:00.000Z');
  for (const bad of ['5', '5x', 'yesterday', '-1h', '']) assert.equal(parseSince(bad, now), undefined, bad);
});

test('orch events --since 5m prints what was logged in the last five minutes, and a minute from now nothing', async () => {
  const recent = capture();
  assert.equal(await runEvents(['--nats', server.url, '--since', '5m', '--strategy', 'beta'], {}, recent.io), 0);
  assert.equal(recent.out.join('').trim().split('\n').length, 3);
  const future = capture();
  assert.equal(await runEvents(['--nats', server.url, '--since', '1m'], {}, future.io, { now: () => Date.now() + 120_000 }), 0);
  assert.equal(future.out.join(''), '');
});

test('orch events --strategy with an id that is in neither the log nor a running registry is an error', async () => {
  const c = capture();
  assert.equal(await runEvents(['--nats', server.url, '--strategy', 'alhpa'], {}, c.io), 1);
  assert.match(c.err.join(''), /unknown strategy "alhpa": not in the event log/);
});

test('orch events --follow prints the history, then each event as it is logged, until stopped', async () => {
  const c = capture();
  const stop = new AbortController();
  const done = runEvents(['--nats', server.url, '--strategy', 'beta', '--follow'], {}, c.io, { signal: stop.signal });
  await eventually(() => c.out.join('').trim().split('\n').length === 3, 'the history');
  const log = new EventLog(nc, pino({ level: 'silent' }));
  for (const e of [...place('alpha', 'a3'), ...place('beta', 'b2')]) await log.append(e);
  await eventually(() => c.out.join('').includes('intent=b2'), 'the new events');
  await eventually(() => c.out.join('').trim().split('\n').length === 6, 'all three of beta\'s new events');
  assert.ok(!c.out.join('').includes('strategy=alpha'), 'only the followed strategy');
  stop.abort();
  assert.equal(await done, 0);
});
