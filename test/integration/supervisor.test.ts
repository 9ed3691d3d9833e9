import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { NatsServerHandle } from '../support/nats-server.ts';
import { spec, eventually } from '../support/specs.ts';
import { Supervisor } from '../../supervisor/supervisor.ts';
import { SystemClock } from '../../actors/clock.ts';
import { publishJson } from '../../actors/bus.ts';
import { subjects } from '../../actors/subjects.ts';
import { TickSchema } from '../../actors/messages.ts';
import { strategiesReply, supervisorStatus } from '../../supervisor/services.ts';
import { render } from '../../supervisor/commands/status.ts';
import { startBusAnsweringState, stopBus } from '../support/broker-state.ts';
import type { NatsConnection } from '@nats-io/transport-node';

let server: NatsServerHandle;
let nc: NatsConnection;
const log = pino({ level: 'silent' });

before(async () => {
  ({ server, nc } = await startBusAnsweringState());
});
after(() => stopBus({ server, nc }));

/** Publishes ticks with a contiguous per-symbol sequence, like the broker does. */
function tickFeed(symbol: string) {
  let seq = 0;
  return () => {
    seq++;
    publishJson(nc, subjects.marketData('kite', symbol), TickSchema, { type: 'tick', venue: 'kite', symbol, seq, ts: Date.now(), recvTs: Date.now(), last: 150_000 + seq });
    return seq;
  };
}

test('a crashing strategy is restarted while its neighbour keeps every tick, and past its intensity it stays down', async () => {
  const gaveUp: string[] = [];
  const sup = new Supervisor({ host: { natsUrl: server.url, logLevel: 'silent' }, clock: new SystemClock(), log, onGiveUp: (id) => gaveUp.push(id) });
  const steady = spec('steady', { instruments: ['NSE:TCS'] });
  const crashy = spec('crashy', { instruments: ['NSE:INFY'], params: { throwOnTick: 3, side: 'BUY', qty: 1, through: 100 }, restart: { maxRestarts: 2, withinSeconds: 60 } });
  await sup.startAll([steady, crashy]);
  const tcs = tickFeed('NSE:TCS');
  const infy = tickFeed('NSE:INFY');
  try {
    // Each crashy incarnation dies on its third tick: 1 start + 2 restarts, then it is left down.
    let sent = 0;
    await eventually(async () => {
      tcs();
      infy();
      sent++;
      await nc.flush();
      await new Promise((r) => setTimeout(r, 20));
      return sup.status('crashy') === 'down';
    }, 'crashy to exceed its restart intensity', 20_000);
    assert.deepEqual(gaveUp, ['crashy']);
    const views = await sup.view();
    assert.equal(views.find((v) => v.id === 'crashy')?.restarts, 2);
    assert.match(views.find((v) => v.id === 'crashy')?.lastError ?? '', /deliberate crash/);
    // The neighbour saw every tick it was sent, in sequence.
    const h = await eventually(async () => {
      const v = (await sup.view()).find((x) => x.id === 'steady');
      return v?.health && v.health.ticks === sent ? v.health : undefined;
    }, 'steady to have every tick');
    assert.equal(h.tickGaps, 0);
    assert.equal(sup.status('steady'), 'running');
  } finally {
    await sup.stopAll();
  }
});

test('a strategy that calls process.exit is restarted in a fresh worker', async () => {
  const sup = new Supervisor({ host: { natsUrl: server.url, logLevel: 'silent' }, clock: new SystemClock(), log });
  await sup.startAll([spec('exiter', { instruments: ['NSE:SBIN'], params: { exitOnTick: 2, side: 'BUY', qty: 1, through: 100 }, restart: { maxRestarts: 5, withinSeconds: 60 } })]);
  const sbin = tickFeed('NSE:SBIN');
  try {
    await eventually(async () => {
      sbin();
      await nc.flush();
      await new Promise((r) => setTimeout(r, 20));
      return (await sup.view())[0]!.restarts >= 1 && sup.status('exiter') === 'running';
    }, 'exiter to be restarted');
  } finally {
    await sup.stopAll();
  }
  assert.equal(sup.status('exiter'), 'stopped');
});

test('a strategy halted by the kill switch is shown halted after it restarts, in orch strategies and orch status', async () => {
  // Its second tick crashes it: a restarted actor is handed the instrument's last tick at once
  // (supervisor/md-hub-worker.ts), which as its first must not crash it again.
  const held = spec('held', { instruments: ['NSE:ITC'], params: { throwOnTick: 2, side: 'BUY', qty: 1, through: 100 }, restart: { maxRestarts: 5, withinSeconds: 60 } });
  const sup = new Supervisor({
    host: { natsUrl: server.url, logLevel: 'silent', killLevel: (id) => ({ level: id === 'held' ? 1 : 0, revision: 4, halted: id === 'held' }) },
    clock: new SystemClock(), log,
  });
  await sup.startAll([held]);
  const itc = tickFeed('NSE:ITC');
  try {
    // Ticks until it crashes; then none, so the restarted actor stays up and reads the latched level again.
    await eventually(async () => {
      itc();
      await nc.flush();
      await new Promise((r) => setTimeout(r, 20));
      return (await sup.view())[0]!.restarts >= 1;
    }, 'held to crash and be restarted', 30_000);
    await eventually(async () => sup.status('held') === 'running', 'held to run again', 30_000);
    const src = { supervisor: sup, reloader: { current: () => ({ file: 'strategies.yaml', restartIntensity: { maxRestarts: 3, withinSeconds: 60 }, killTriggers: undefined, strategies: [held] }), lastResult: () => undefined, reload: () => { throw new Error('unused'); } }, clock: new SystemClock() };
    const reply = await strategiesReply(src);
    assert.equal(reply.strategies[0]!.status, 'halted');
    const shown = render(await supervisorStatus(src), undefined);
    assert.match(shown, /held\s+halted/);
  } finally {
    await sup.stopAll();
  }
});
