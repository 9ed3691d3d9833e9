import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Strategy workers run at a lower CPU priority than the threads that must never wait for a
 * core: the kill relay, the supervisor's and broker's main threads, nats-server. On a machine
 * whose cores are all busy with strategies parsing ticks, a kill or an order otherwise queues
 * behind them (docs/latency.md, "Kill propagation"). Linux keeps a nice value per thread
 * (sched(7), "The nice value": https://man7.org/linux/man-pages/man7/sched.7.html), so one
 * worker thread can lower itself without touching the rest of the process; lowering needs no
 * privilege, raising it back does (which a strategy therefore cannot do either).
 */
export const DEFAULT_STRATEGY_NICENESS = 10;

/**
 * The calling thread's stat file (proc(5), /proc/pid/stat: the first field is the thread's id).
 * The permission-restricted strategies process may read exactly this file
 * (supervisor/strategies-process.ts): not the folder, whose `root` link reaches the whole file
 * system, and not the `/proc/thread-self` link itself.
 */
export const THREAD_STAT_FILE = '/proc/thread-self/stat';

export type PriorityResult = { ok: true; tid: number; niceness: number } | { ok: false; reason: string };

/** The thread id at the head of a stat line (`12345 (node) R ...`), or undefined. */
export function tidOfStat(stat: string): number | undefined {
  const tid = Number(stat.slice(0, stat.indexOf(' ')));
  return Number.isInteger(tid) && tid > 0 ? tid : undefined;
}

/** Sets the calling thread's nice value; elsewhere than Linux, says why it did not. */
export function setThisThreadNiceness(niceness: number): PriorityResult {
  if (!Number.isInteger(niceness) || niceness < 0 || niceness > 19) {
    return { ok: false, reason: `niceness must be an integer from 0 to 19, got ${niceness}` };
  }
  let stat: string;
  try {
    stat = readFileSync(THREAD_STAT_FILE, 'utf8');
  } catch (e) {
    return { ok: false, reason: `no per-thread priority here (${THREAD_STAT_FILE}: ${(e as { code?: string }).code ?? 'unreadable'})` };
  }
  const tid = tidOfStat(stat);
  if (tid === undefined) return { ok: false, reason: 'no per-thread priority here (unreadable thread id)' };
  try {
    setPriority(tid, niceness);
  } catch (e) {
    return { ok: false, reason: `setpriority refused: ${e instanceof Error ? e.message : String(e)}` };
  }
  return { ok: true, tid, niceness };
}
