import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { startNatsServer } from '../support/nats-server.ts';
import { spec, fixture, repoRoot } from '../support/specs.ts';
import { answerStrategyState } from '../support/broker-state.ts';
import { StrategyHost } from '../../supervisor/actor-host.ts';
import { compileModule, compiledWorkerCode } from '../../supervisor/worker-code.ts';
import { probeInWorker } from '../../supervisor/reload.ts';
import { renderRegistry } from '../support/registry.ts';
import { eventually } from '../support/wait.ts';
import { connectBus } from '../../actors/bus.ts';

/**
 * Strategy workers load JavaScript the supervisor compiled (supervisor/worker-code.ts): a worker
 * that registered the TypeScript loader itself got a second thread for its module hooks and
 * compiled every module again, about half its memory (docs/latency.md, "Memory per worker").
 */
const threads = () => readdirSync('/proc/self/task').length;

test('a running strategy adds one thread to the process: its worker, with no TypeScript loader thread beside it', async (t) => {
  await mkdtemp(join(tmpdir(), 'orch-threads-')).then((d) => rm(d, { recursive: true })); // libuv's pool is up before counting
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name: 'broker-state' });
  answerStrategyState(nc);
  const host = new StrategyHost(spec('one', { module: fixture('recorder') }), { natsUrl: nats.url, logLevel: 'silent' });
  t.after(async () => {
    await host.stop();
    await nc.close();
    await nats.cleanup();
  });
  const before = threads();
  await host.start();
  assert.equal((await host.health())?.state, 'running', 'the strategy runs');
  // Settled, not sampled: a short-lived thread of the process (a libuv or V8 helper) may come and go meanwhile.
  await eventually(() => threads() - before === 1, `one thread more than before (${threads() - before} now)`, 5_000);
});

/** Thread id → nice value, from /proc (field 19 of stat: proc(5)). */
function niceOfThreads(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch { /* a thread that ended meanwhile */ }
  }
  return out;
}

test('a strategy worker lowers its own thread\'s CPU priority (nice 10 by default, or its entry\'s), and only its own', async (t) => {
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name: 'broker-state' });
  answerStrategyState(nc);
  const before = niceOfThreads();
  const plain = new StrategyHost(spec('plain', { module: fixture('recorder') }), { natsUrl: nats.url, logLevel: 'silent' });
  const own = new StrategyHost(spec('own', { module: fixture('recorder'), resources: { maxOldGenerationSizeMb: 128, niceness: 4 } }), { natsUrl: nats.url, logLevel: 'silent' });
  t.after(async () => {
    await plain.stop();
    await own.stop();
    await nc.close();
    await nats.cleanup();
  });
  await plain.start();
  const afterPlain = niceOfThreads();
  await own.start();
  const afterOwn = niceOfThreads();
  const added = (a: Map<number, number>, b: Map<number, number>) => [...b].filter(([tid]) => !a.has(tid)).map(([, n]) => n);
  assert.deepEqual(added(before, afterPlain), [10], 'the new worker thread runs at nice 10');
  assert.deepEqual(added(afterPlain, afterOwn), [4], 'an entry that sets resources.niceness gets it');
  assert.equal(afterOwn.get(process.pid), 0, 'the supervisor\'s own thread keeps its priority');
  for (const [tid, n] of before) if (afterOwn.has(tid)) assert.equal(afterOwn.get(tid), n, `thread ${tid} unchanged`);
});

test('the worker code runs in a worker with no loader: it needs no TypeScript support to start', async () => {
  const code = await compiledWorkerCode();
  // A bare worker: no --import, no module hooks; it reports what the compiled module exports.
  const w = new Worker(`import(${JSON.stringify(code)}).then((m) => require('node:worker_threads').parentPort.postMessage(typeof m.default), (e) => require('node:worker_threads').parentPort.postMessage(String(e)))`, { eval: true, execArgv: [] });
  const answer = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
  await w.terminate();
  assert.equal(answer, 'function');
});

const fixtures = join(repoRoot, 'test', 'fixtures', 'compile');

test('a compiled module imports the same package files Node resolves, and each file keeps its own import.meta.url', async () => {
  const file = join(fixtures, 'meta.ts');
  const compiled = await compileModule(file);
  const m = (await import(compiled.url)) as { schema: z.ZodType; ownUrl: string; nestedUrl: string };
  await compiled.release();
  // One zod, not a second copy: a schema the strategy builds is a schema to the actor's zod.
  assert.ok(m.schema instanceof z.ZodType);
  assert.equal(m.ownUrl, pathToFileURL(file).href);
  assert.equal(m.nestedUrl, pathToFileURL(join(fixtures, 'nested', 'where.ts')).href);
});

/** Where a compiled `throws.ts` says its error came from. */
async function frameOf(url: string): Promise<string> {
  const m = (await import(url)) as { fail(): never };
  try {
    m.fail();
  } catch (e) {
    return (e as Error).stack!.split('\n')[1]!;
  }
  return '';
}

test('a strategy error names its TypeScript file and line, and its compiled file is gone once loaded', async () => {
  const file = join(fixtures, 'throws.ts');
  const compiled = await compileModule(file);
  assert.ok(compiled.url.startsWith('file:'));
  const frame = await frameOf(compiled.url);
  await compiled.release();
  assert.ok(frame.includes(`${file}:8:`), frame);
  assert.equal(existsSync(fileURLToPath(compiled.url)), false);
});

test('where no file can be written, or none is wanted (the reload probe: a thread ended mid-load leaves nothing), the module still loads as a data: URL, its frames naming its file', async () => {
  assert.ok((await compileModule(join(fixtures, 'throws.ts'), null)).url.startsWith('data:'));
  const file = join(fixtures, 'throws.ts');
  const compiled = await compileModule(file, '/proc/orch-not-writable');
  assert.ok(compiled.url.startsWith('data:'));
  assert.match(await frameOf(compiled.url), new RegExp(`\\(${pathToFileURL(file).href}:\\d+:\\d+\\)`));
});

test('a module that does not compile fails with its file and line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-compile-'));
  try {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'broken.ts'), 'export default {\n  create( => 1,\n};\n');
    await assert.rejects(compileModule(join(dir, 'broken.ts')), /broken\.ts:2/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the reload probe loads a module as its worker will: one that only loads under the TypeScript loader is refused by name', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-probe-'));
  try {
    const file = join(dir, 'strategies.yaml');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, renderRegistry([{ id: 'computed', module: join(fixtures, 'computed-import.ts'), instruments: ['NSE:INFY'] }]));
    const r = await probeInWorker({ timeoutMs: 60_000 })(file);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.error.field, 'strategies[0].module');
    assert.match(r.error.message, /computed-import\.ts: .*nested\/where\.ts/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
