import { createServer } from 'node:net';

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * The one polling helper. Real sockets, servers, processes and workers need real (short) waits:
 * polls `cond` every `intervalMs` (0: every turn of the event loop) until it returns a truthy
 * value, which it returns; a throw counts as "not yet". When `timeoutMs` is up it fails with
 * `timed out waiting for <what>` and the last error `cond` threw.
 * Integration and end-to-end tests only; unit tests advance a TestClock instead.
 */
export async function eventually<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 15_000, intervalMs = 5): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as Truthy<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => (intervalMs > 0 ? setTimeout(r, intervalMs) : setImmediate(r)));
  }
}

/** A TCP port nothing listens on right now (for servers that cannot pick their own, like `orch start`'s nats-server). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
