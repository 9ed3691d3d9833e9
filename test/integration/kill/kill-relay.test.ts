import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { startNatsServer } from '../../support/nats-server.ts';
import { eventually } from '../../support/wait.ts';
import { connectBus, encodeJson, subscribeParsed } from '../../../actors/bus.ts';
import { subjects } from '../../../actors/subjects.ts';
import { KillAckSchema, KillMessageSchema, type KillAck } from '../../../actors/messages.ts';
import { KillGate } from '../../../actors/kill-gate.ts';
import { KillRelay } from '../../../supervisor/kill-relay.ts';

/**
 * The kill relay's thread (supervisor/kill-relay.ts) warms its path up at start on a scratch
 * gate: that must neither acknowledge anything nor touch a real gate. Then a broadcast closes
 * every hosted strategy's gate and is acknowledged once per strategy, `via: gate`.
 */
test('the kill relay warms up without a word on NATS, then closes each gate and acknowledges it once', async (t) => {
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name: 'operator' });
  const acks: KillAck[] = [];
  const heard: string[] = [];
  nc.subscribe('>', { callback: (_e, m) => void heard.push(m.subject) });
  subscribeParsed(nc, subjects.killAckAll(), KillAckSchema, (a) => void acks.push(a), { sync: true });
  await nc.flush();
  const relay = new KillRelay({ natsUrl: nats.url, log: pino({ level: 'silent' }), initial: () => ({ global: 0, own: 0, revision: 0 }) });
  t.after(async () => {
    await relay.stop();
    await nc.close();
    await nats.cleanup();
  });
  const gates = ['a', 'b'].map((id) => new KillGate(relay.gateOf(id)));
  await relay.start();
  await nc.flush();
  assert.deepEqual(heard, [], 'the warm-up published nothing');
  assert.deepEqual(gates.map((g) => g.level()), [0, 0], 'and closed no real gate');

  nc.publish(subjects.kill(), encodeJson(KillMessageSchema, { type: 'kill', level: 3, scope: { kind: 'global' }, reason: 'test', by: 'operator', ts: Date.now(), revision: 1 }));
  await eventually(() => acks.length === 2, 'an acknowledgement per strategy');
  assert.deepEqual(gates.map((g) => g.level()), [3, 3]);
  assert.deepEqual(acks.map((a) => [a.actorId, a.level, a.via]).sort(), [['a', 3, 'gate'], ['b', 3, 'gate']]);
  await nc.flush();
  assert.equal(acks.length, 2, 'once each');
});
