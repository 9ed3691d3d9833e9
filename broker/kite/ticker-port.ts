import type { KiteTickerClient } from './ticker-client.ts';
import type { KiteTickerPort } from './adapter.ts';
import type { Clock } from '../../actors/clock.ts';
import type { TickMode } from '../../config/tick-mode.ts';

/**
 * Adapts the ticker client's reference-counted subscribe/unsubscribe to the adapter's
 * "this is the whole wanted set" call, so the broker can resync after every reload.
 */
export function tickerPort(client: KiteTickerClient, clock: Clock, connectTimeoutMs = 15_000): KiteTickerPort {
  let current = new Map<number, TickMode>();
  let open = false;
  client.events.on('disconnected', () => { open = false; });
  client.events.on('reconnected', () => { open = true; });
  return {
    async connect() {
      client.start();
      // The first socket counts as open once its handshake completes; the client keeps retrying
      // on its own schedule, so a slow first connect is reported rather than waited on forever.
      const deadline = clock.now() + connectTimeoutMs;
      await new Promise<void>((resolve, reject) => {
        const t = clock.setInterval(() => {
          const s = client.state;
          if (s.kind === 'open') { clock.clearInterval(t); open = true; resolve(); }
          else if (s.kind === 'closed') { clock.clearInterval(t); reject(new Error('ticker closed while connecting')); }
          else if (clock.now() >= deadline) { clock.clearInterval(t); reject(new Error(`ticker not connected after ${connectTimeoutMs} ms`)); }
        }, 10);
      });
    },
    async close() {
      client.close();
      open = false;
    },
    setWanted(wanted) {
      for (const [token, mode] of current) if (wanted.get(token) !== mode) client.unsubscribe([token], mode);
      for (const [token, mode] of wanted) if (current.get(token) !== mode) client.subscribe([token], mode);
      current = new Map(wanted);
    },
    isOpen: () => open && client.state.kind === 'open',
    onTick: (fn) => client.events.on('ticks', (ticks) => { for (const t of ticks) fn(t); }),
    onOrder: (fn) => client.events.on('order', (o) => fn(o)),
    onDisconnected: (fn) => client.events.on('disconnected', (e) => fn(`${e.reason} (socket ${e.conn})`)),
    onReconnected: (fn) => client.events.on('reconnected', () => fn()),
    onReconcile: (fn) => client.events.on('reconcile', () => fn()),
  };
}
