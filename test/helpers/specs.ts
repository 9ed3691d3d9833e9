import { resolve, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StrategySpec } from '../../supervisor/config.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixture = (name: string) => join(repoRoot, 'test', 'fixtures', 'strategies', `${name}.ts`);

export function spec(id: string, over: Partial<StrategySpec> & { params?: Record<string, unknown> } = {}): StrategySpec {
  return {
    id,
    module: fixture('recorder'),
    venue: 'kite',
    instruments: ['NSE:INFY'],
    params: { side: 'BUY', qty: 1, through: 100 },
    risk: { maxOrderQty: 10, maxOrderValue: 10_000_000, maxPosition: 10, maxOpenOrders: 5, priceBandBps: 500, ordersPerMinute: 60 },
    resources: { maxOldGenerationSizeMb: 64 },
    restart: { maxRestarts: 2, withinSeconds: 60 },
    onRemove: 'cancel-orders',
    enabled: true,
    ...over,
  };
}

/** Polls `cond` until it holds; integration tests only (real workers and sockets). */
export async function eventually<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
