import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { SupervisorError } from './errors.ts';

/**
 * One `orch start` per state directory. The lock is a file linked into place (atomic: of two
 * starters exactly one creates it) holding the owner's pid and start time. A lock whose pid is
 * no longer running (a crash, kill -9) is stale and taken over. It is taken, and every port the
 * run needs is probed, before anything in the state directory is touched: a second start
 * refuses without stopping, wiping or binding anything of the running one.
 */

const LockSchema = z.strictObject({ pid: z.number().int().positive(), startedAt: z.string().min(1), cwd: z.string().optional() });
export type LockOwner = z.infer<typeof LockSchema>;

export class InstanceLockedError extends SupervisorError {
  constructor(readonly file: string, readonly owner: LockOwner) {
    super('instance_locked', `another orch (pid ${owner.pid}, running since ${owner.startedAt}) holds ${file}; stop it first (kill -TERM ${owner.pid}) or use another directory`);
    this.name = 'InstanceLockedError';
  }
}

export class PortInUseError extends SupervisorError {
  /** `key` is the setting that chose the port (`--metrics-port`, `KITE_POSTBACK_PORT`, ...). */
  constructor(readonly port: number, readonly key: string, readonly host = '127.0.0.1') {
    super('port_in_use', `port ${port} on ${host} (${key}) is already in use; nothing was started or wiped. Stop what holds it or set another ${key}`);
    this.name = 'PortInUseError';
  }
}

export const lockFile = (stateDir: string) => join(stateDir, 'orch.lock');

/** Whether `pid` is a running process (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else, so it runs.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type InstanceLock = { file: string; owner: LockOwner; release(): Promise<void> };

/** Takes the state directory's lock, or throws InstanceLockedError naming the running owner. */
export async function acquireInstanceLock(stateDir: string, o: { pid?: number; now?: () => Date; isAlive?: (pid: number) => boolean } = {}): Promise<InstanceLock> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const file = lockFile(stateDir);
  const owner: LockOwner = { pid: o.pid ?? process.pid, startedAt: (o.now ?? (() => new Date()))().toISOString(), cwd: process.cwd() };
  const isAlive = o.isAlive ?? alive;
  // Two rounds: a stale lock is removed once, then created like a fresh one.
  for (let round = 0; round < 2; round++) {
    // Written whole under a private name, then linked into place: link fails if the lock exists,
    // and the lock is never seen half-written.
    const tmp = `${file}.${owner.pid}.${Date.now()}`;
    await writeFile(tmp, `${JSON.stringify(owner)}\n`, { mode: 0o600, flag: 'wx' });
    try {
      await link(tmp, file);
      return {
        file,
        owner,
        // Only our own lock is removed: a later owner's is left alone.
        release: async () => {
          const now = await readOwner(file);
          if (now && now.pid === owner.pid && now.startedAt === owner.startedAt) await unlink(file).catch(() => undefined);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    const held = await readOwner(file);
    if (held && isAlive(held.pid) && held.pid !== owner.pid) throw new InstanceLockedError(file, held);
    // Dead owner (or an unreadable file, which no live orch writes): stale, taken over.
    await unlink(file).catch(() => undefined);
  }
  const held = await readOwner(file);
  throw new InstanceLockedError(file, held ?? { pid: 0, startedAt: 'unknown' });
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const r = LockSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Throws PortInUseError naming `key` unless `port` on `host` can be bound now (it is released at once). */
export async function probePort(port: number, key: string, host = '127.0.0.1'): Promise<void> {
  if (port === 0 || port === -1) return; // any free port
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' || e.code === 'EACCES' ? new PortInUseError(port, key, host) : e));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve()));
  });
}
