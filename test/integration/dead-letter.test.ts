import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.ts';
import { connectBus, subscribeParsed, publishJson, deadLetters } from '../../actors/bus.ts';
import { subjects } from '../../actors/subjects.ts';
import { TickSchema, DeadLetterSchema, type Tick } from '../../actors/messages.ts';
import { eventually } from '../support/specs.ts';

let server: NatsServerHandle;
let nc: NatsConnection;
before(async () => {
  server = await startNatsServer();
  nc = await connectBus({ servers: server.url, name: 'dlq-test' });
});
after(async () => {
  await nc.close();
  await server.cleanup();
});

test('a malformed payload is dead-lettered with the reason and counted, and the subscription keeps going', async () => {
  const subject = subjects.marketData('kite', 'NSE:INFY');
  const got: Tick[] = [];
  const dead: unknown[] = [];
  subscribeParsed(nc, subject, TickSchema, (t) => { got.push(t); });
  const dlq = nc.subscribe(subjects.deadLetter(subject));
  void (async () => { for await (const m of dlq) dead.push(m.json()); })();
  await nc.flush();
  const before = (await deadLetters.get()).values.find((v) => v.labels.subject === subject)?.value ?? 0;

  nc.publish(subject, 'not json at all');
  nc.publish(subject, JSON.stringify({ type: 'tick', venue: 'kite', symbol: 'NSE:INFY', seq: 1, ts: 1, recvTs: 1, last: -5 }));
  publishJson(nc, subject, TickSchema, { type: 'tick', venue: 'kite', symbol: 'NSE:INFY', seq: 2, ts: 1, recvTs: 1, last: 150_000 });

  await eventually(() => got.length === 1 && dead.length === 2, 'one good tick and two dead letters');
  assert.equal(got[0]!.seq, 2);
  const letters = dead.map((d) => DeadLetterSchema.parse(d));
  assert.match(letters[0]!.error, /not JSON/);
  assert.match(letters[1]!.error, /last/, 'the reason names the field');
  assert.equal(letters[1]!.subject, subject);
  const after = (await deadLetters.get()).values.find((v) => v.labels.subject === subject)?.value ?? 0;
  assert.equal(after - before, 2);
});
