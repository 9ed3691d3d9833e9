import type { VenueAdapter } from './venue.ts';

/** A venue write refused because this broker cannot vouch for its lease (broker/lease.ts). */
export class NotLeaderError extends Error {
  readonly code = 'not_leader';
  readonly retryable = false;
  constructor(reason: string) {
    super(`not sent: this broker does not hold the lease (${reason})`);
    this.name = 'NotLeaderError';
  }
}

const WRITES = new Set<PropertyKey>(['place', 'cancel', 'modify']);

/**
 * The adapter with every venue write (place, cancel, modify) checked against `unsafe` at the
 * moment it would leave: a place after its write-ahead is stored, just before the adapter sends.
 * Whatever path asks (an intent, the kill switch, a flatten, reconciliation), a broker that may
 * have been replaced writes nothing. Reads pass through.
 */
export function fenceWrites(adapter: VenueAdapter, unsafe: () => string | undefined): VenueAdapter {
  const check = () => {
    const why = unsafe();
    if (why !== undefined) throw new NotLeaderError(why);
  };
  return new Proxy(adapter, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      if (!WRITES.has(prop)) return v.bind(target);
      if (prop === 'place') {
        return (req: unknown, priority: unknown, sendAfter: Promise<void>) => {
          try {
            check();
          } catch (e) {
            return Promise.reject(e);
          }
          const gated = sendAfter.then(check);
          // The adapter awaits it only once its limiter lets the write go: a write-ahead that fails
          // meanwhile (the event log full) is that place's error, not an unhandled rejection,
          // which would end the process.
          gated.catch(() => undefined);
          return (v as (...a: unknown[]) => unknown).call(target, req, priority, gated);
        };
      }
      return (...args: unknown[]) => {
        try {
          check();
        } catch (e) {
          return Promise.reject(e);
        }
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
