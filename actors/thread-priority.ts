import { readlinkSync } from 'node:fs';
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

export type PriorityResult = { ok: true; tid: number; niceness: number } | { ok: false; reason: string };

/** Sets the calling thread's nice value; elsewhere than Linux, says why it did not. */
export function setThisThreadNiceness(niceness: number): PriorityResult {
  if (!Number.isInteger(niceness) || niceness < 0 || niceness > 19) {
    return { ok: false, reason: `niceness must be an integer from 0 to 19, got ${niceness}` };
  }
  let tid: number;
  try {
    // /proc/thread-self -> "<pid>/task/<tid>": the kernel's id of this very thread.
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return { ok: false, reason: 'no per-thread priority here (no /proc/thread-self)' };
  }
  if (!Number.isInteger(tid) || tid <= 0) return { ok: false, reason: 'no per-thread priority here (unreadable thread id)' };
  try {
    setPriority(tid, niceness);
  } catch (e) {
    return { ok: false, reason: `setpriority refused: ${e instanceof Error ? e.message : String(e)}` };
  }
  return { ok: true, tid, niceness };
}
