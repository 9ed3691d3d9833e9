import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { startNatsServer } from './helpers/nats-server.ts';
import { spec, fixture, eventually } from './helpers/specs.ts';
import { StrategyActor } from '../actors/strategy-actor.ts';
import { SystemClock } from '../actors/clock.ts';
import { importStrategyModule } from '../supervisor/config.ts';
import { connectBus, publishJson } from '../actors/bus.ts';
import { subjects } from '../actors/subjects.ts';
import { KillMessageSchema } from '../actors/messages.ts';

test('an actor starts knowing the latched kill level, and an older broadcast cannot lower it', async () => {
  const server = await startNatsServer();
  const nc = await connectBus({ servers: server.url, name: 'operator-sim' });
  const actor = new StrategyActor({
    spec: spec('halted'), module: await importStrategyModule(fixture('recorder')), natsUrl: server.url,
    clock: new SystemClock(), log: pino({ level: 'silent' }), initialKill: { level: 1, revision: 7 },
  });
  try {
    await actor.start();
    assert.equal(actor.ctx.killLevel(), 1, 'known before any broadcast');
    const kill = (level: 0 | 1 | 2 | 3 | 4, revision: number) =>
      publishJson(nc, subjects.kill(), KillMessageSchema, { type: 'kill', level, scope: { kind: 'global' }, reason: 'test', by: 'operator', ts: 0, revision });
    const acks: number[] = [];
    const sub = nc.subscribe(subjects.killAck('halted'));
    void (async () => { for await (const m of sub) acks.push((m.json() as { revision: number }).revision); })();
    await nc.flush();
    kill(0, 5); // stale: older than what the actor read at start
    kill(3, 8);
    await eventually(() => acks.includes(8), 'the newer broadcast to be acknowledged');
    assert.deepEqual(acks, [8], 'the stale broadcast was never applied');
    assert.equal(actor.ctx.killLevel(), 3);
    assert.equal(actor.health().state, 'halted');
  } finally {
    await actor.stop();
    await nc.close();
    await server.cleanup();
  }
});
