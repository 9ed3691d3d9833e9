import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { TestClock } from '../actors/clock.ts';
import type { StrategiesProcess } from './strategies-process.ts';
import { keepStrategiesProcess } from './strategies-keeper.ts';

/** A strategies process the test ends at will. */
function fakeProcess(pid: number, status = 'running') {
  let end!: (code: number | null) => void;
  const exited = new Promise<number | null>((r) => { end = r; });
  let stopped = 0;
  const p: StrategiesProcess = {
    pid, running: Promise.resolve(['a']), exited, status: () => status, metricsUrl: () => undefined,
    stop: async () => { stopped++; end(0); },
  };
  return { p, die: (code: number | null = null) => end(code), stopped: () => stopped };
}

const settle = () => new Promise((r) => setImmediate(r));
const log = pino({ level: 'silent' });

test('a strategies process that dies is started again, and past the restart intensity the keeper gives up instead of starting it again', async () => {
  const clock = new TestClock();
  const first = fakeProcess(1);
  const started: ReturnType<typeof fakeProcess>[] = [];
  let gaveUp = false;
  const kept = keepStrategiesProcess(first.p, {
    restart: async () => { const next = fakeProcess(2 + started.length, 'starting'); started.push(next); return next.p; },
    intensity: () => ({ maxRestarts: 2, withinSeconds: 60 }),
    clock, log,
  });
  void kept.gaveUp.then(() => { gaveUp = true; });
  first.die();
  await settle();
  assert.equal(started.length, 1, 'started again');
  assert.equal(kept.current().pid, 2);
  assert.equal(kept.status('a'), 'starting', 'the summary reads the new process');
  await clock.advance(10_000);
  started[0]!.die();
  await settle();
  assert.equal(started.length, 2, 'the second restart is within the intensity');
  await clock.advance(10_000);
  started[1]!.die();
  await settle();
  assert.equal(started.length, 2, 'no third start: 3 ends within 60 s exceed 2 restarts');
  assert.equal(gaveUp, true);
});

test('restarts older than the window are forgotten, a failed start counts as one more, and a stop starts nothing again', async () => {
  const clock = new TestClock();
  const first = fakeProcess(1);
  let attempts = 0;
  const processes: ReturnType<typeof fakeProcess>[] = [];
  const kept = keepStrategiesProcess(first.p, {
    restart: async () => {
      attempts++;
      if (attempts === 2) throw new Error('compile failed');
      const next = fakeProcess(10 + attempts);
      processes.push(next);
      return next.p;
    },
    intensity: () => ({ maxRestarts: 2, withinSeconds: 60 }),
    clock, log,
  });
  first.die();
  await settle();
  await clock.advance(120_000);
  // Its end, then a start that fails, then a start that works: two restarts within the window.
  processes[0]!.die();
  await settle();
  await settle();
  assert.equal(attempts, 3);
  assert.equal(kept.current().pid, 13);
  await kept.stop();
  assert.equal(processes[1]!.stopped(), 1, 'stop stops the process running now');
  await settle();
  assert.equal(attempts, 3, 'its end after the stop starts nothing');
});
