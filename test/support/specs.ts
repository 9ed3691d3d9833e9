import { resolve, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
    health: DEFAULT_HEALTH_CHECK,
    onRemove: 'cancel-orders',
    enabled: true,
    marketProtection: -1,
    group: DEFAULT_GROUP,
    ...over,
  };
}

export { eventually } from './wait.ts';
import { DEFAULT_GROUP, DEFAULT_HEALTH_CHECK, type StrategySpec } from '../../config/registry.ts';
