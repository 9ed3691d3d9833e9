import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, repoRoot } from '../../support/specs.ts';
import { renderRegistry } from '../../support/registry.ts';
import { eventually } from '../../support/wait.ts';
import { startOrch, type OrchLine } from '../../support/orch-start.ts';

type Line = OrchLine & { reply?: { status?: string }; attempts?: { what: string; result: string }[]; envNames?: string[] };

// Values no strategy may ever see, each where a real secret would be: made for this run only.
const TOKEN = `kite-token-${randomBytes(12).toString('hex')}`;
const DOTENV = `dotenv-token-${randomBytes(12).toString('hex')}`;
const OPERATOR_PASS = `operator-pass-${randomBytes(12).toString('hex')}`;
const KALSHI_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
/** A line from the middle of the key: what would show if any part of the file leaked. */
const KALSHI_KEY_LINE = KALSHI_KEY.split('\n')[5]!;

test('orch start: a hostile strategy in the permission-restricted strategies process cannot read the Kite token, the .env, the NATS passwords or the Kalshi key, start a child process, load a native addon or find a secret in its environment, while a well-behaved strategy in the same process trades', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-perm-'));
  // The state directory as a live run leaves it: the Kite token of `orch login kite` (passwords.json is the broker's own, written at start).
  await mkdir(join(dir, '.orch'), { recursive: true, mode: 0o700 });
  const tokenFile = join(dir, '.orch', 'kite-token.json');
  await writeFile(tokenFile, JSON.stringify({ accessToken: TOKEN }), { mode: 0o600 });
  const dotenv = join(dir, '.env');
  await writeFile(dotenv, `ORCH_OPERATOR_TOKEN=${DOTENV}\n`, { mode: 0o600 });
  await mkdir(join(dir, 'keys'), { mode: 0o700 });
  const kalshiKey = join(dir, 'keys', 'kalshi.pem');
  await writeFile(kalshiKey, KALSHI_KEY, { mode: 0o600 });
  const passwords = join(dir, '.orch', 'nats', 'passwords.json');
  // A real addon the process may read (piscina's optional dependency): refused as an addon, not as a file.
  const addon = createRequire(join(repoRoot, 'node_modules', 'piscina', 'package.json')).resolve('@napi-rs/nice-linux-x64-gnu');
  // The registry in a folder of its own: the strategies process may read (and watch) it.
  await mkdir(join(dir, 'config'));
  const registry = join(dir, 'config', 'strategies.yaml');
  await writeFile(registry, renderRegistry([
    { id: 'good', module: fixture('recorder'), instruments: ['NSE:INFY'], params: { placeOnTick: 2 } },
    { id: 'hostile', module: fixture('hostile'), instruments: ['NSE:INFY'], params: { files: [tokenFile, dotenv, passwords, kalshiKey], addon } },
  ]));

  // Another role's NATS password in the launcher's environment, and the Kalshi key's path (no KALSHI_KEY_ID: still paper).
  const orch = await startOrch(dir, registry, { env: { ORCH_NATS_OPERATOR_PASSWORD: OPERATOR_PASS, KALSHI_PRIVATE_KEY_PATH: kalshiKey } });
  t.after(async () => {
    await orch.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const lines = () => orch.lines() as Line[];
  const out = orch.output;

  await eventually(async () => lines().some((l) => l.actor === 'strategy:hostile' && l.attempts) && lines().some((l) => l.actor === 'strategy:good' && l.msg === 'recorder placed'), 'the hostile strategy to try and the good one to place', 120_000);
  const launcher = lines().find((l) => l.msg === 'strategies process started under the permission model')!;
  const hostile = lines().find((l) => l.actor === 'strategy:hostile' && l.attempts)!;
  const good = lines().find((l) => l.actor === 'strategy:good' && l.msg === 'recorder placed')!;
  assert.notEqual(hostile.pid, launcher.pid, 'the strategies run in a process of their own');
  assert.equal(hostile.pid, launcher.strategiesPid, 'the one the launcher started under the permission model');
  assert.equal(good.pid, hostile.pid, 'the good strategy runs in the same restricted process');
  assert.equal(good.reply?.status, 'accepted', 'the well-behaved strategy trades through the broker');

  const result = Object.fromEntries(hostile.attempts!.map((a) => [a.what, a.result]));
  assert.deepEqual(result, {
    [`read ${tokenFile}`]: 'denied ERR_ACCESS_DENIED',
    [`read ${dotenv}`]: 'denied ERR_ACCESS_DENIED',
    [`read ${passwords}`]: 'denied ERR_ACCESS_DENIED',
    [`read ${kalshiKey}`]: 'denied ERR_ACCESS_DENIED',
    'read /proc/self/environ': 'denied ERR_ACCESS_DENIED',
    // Its one file under /proc/thread-self is the thread's stat line: the folder's `root` link is no way around the list.
    [`read /proc/thread-self/root${tokenFile}`]: 'denied ERR_ACCESS_DENIED',
    [`read /proc/thread-self/root${dotenv}`]: 'denied ERR_ACCESS_DENIED',
    [`read /proc/thread-self/root${passwords}`]: 'denied ERR_ACCESS_DENIED',
    [`read /proc/thread-self/root${kalshiKey}`]: 'denied ERR_ACCESS_DENIED',
    'read /proc/thread-self/root/etc/hostname': 'denied ERR_ACCESS_DENIED',
    'read /proc/thread-self/stat/../root/etc/hostname': 'denied ERR_ACCESS_DENIED',
    'read /proc/thread-self/status': 'denied ERR_ACCESS_DENIED',
    'read /proc/thread-self/environ': 'denied ERR_ACCESS_DENIED',
    'read /proc/self/root/etc/hostname': 'denied ERR_ACCESS_DENIED',
    'readlink /proc/thread-self': 'denied ERR_ACCESS_DENIED',
    'read /proc/thread-self/stat': 'SUCCEEDED',
    'execFileSync /bin/sh': 'denied ERR_ACCESS_DENIED',
    'spawn /bin/sh': 'denied ERR_ACCESS_DENIED',
    [`require ${addon}`]: 'denied ERR_DLOPEN_DISABLED',
    [`process.dlopen ${addon}`]: 'denied ERR_DLOPEN_DISABLED',
    // Not the permission model's: the worker's own lockdown (actors/worker-lockdown.ts).
    'process.kill(ppid, 0)': 'denied ERR_ACCESS_DENIED',
    'process._kill(ppid, 0)': 'denied ERR_ACCESS_DENIED',
    'put process.kill back': 'denied Cannot assign to read only property \'kill\' of object \'#<process>\'',
    'setPriority(ppid) (named import)': 'denied ERR_ACCESS_DENIED',
    'os.setPriority(ppid)': 'denied ERR_ACCESS_DENIED',
    "process.binding('spawn_sync')": 'denied ERR_ACCESS_DENIED',
  });
  assert.deepEqual(hostile.envNames, [], 'the strategy sees no environment variable');
  // Each strategy's worker thread runs at nice 10 (actors/thread-priority.ts), the process's other threads as they were.
  const nice = niceOfThreads(launcher.strategiesPid!);
  assert.equal(nice.get(launcher.strategiesPid!), 0, 'the strategies process\'s main thread keeps its priority');
  assert.equal([...nice.values()].filter((n) => n === 10).length, 2, `one thread at nice 10 per strategy (threads: ${JSON.stringify([...nice])})`);
  for (const secret of [TOKEN, DOTENV, OPERATOR_PASS, KALSHI_KEY_LINE]) assert.ok(!out().includes(secret), 'no secret reaches any output');
});

/** Thread id → nice value of a process's threads, from /proc (field 19 of stat: proc(5)). */
function niceOfThreads(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch { /* a thread that ended meanwhile */ }
  }
  return out;
}
