/**
 * Renders a strategy registry (config/strategies.yaml's format) for a test, so each test
 * states only what it cares about. Values are written as JSON, which YAML reads as flow style.
 */
export type RegistryEntry = {
  id: string;
  /** Path of the strategy module, as the registry gives it. */
  module: string;
  venue?: string;
  instruments: string[];
  params?: Record<string, unknown>;
  risk?: Record<string, number>;
  onRemove?: 'cancel-orders' | 'leave-orders';
  resources?: Record<string, number>;
};

export const DEFAULT_RISK = { maxOrderQty: 5, maxOrderValue: 100_000_000, maxPosition: 10, maxOpenOrders: 3, priceBandBps: 1000 };

export function renderRegistry(entries: RegistryEntry[]): string {
  const lines = ['strategies:'];
  for (const e of entries) {
    lines.push(
      `  - id: ${e.id}`,
      `    module: ${e.module}`,
      `    venue: ${e.venue ?? 'kite'}`,
      `    instruments: [${e.instruments.join(', ')}]`,
      `    params: ${JSON.stringify(e.params ?? {})}`,
      `    risk: ${JSON.stringify(e.risk ?? DEFAULT_RISK)}`,
    );
    if (e.onRemove) lines.push(`    onRemove: ${e.onRemove}`);
    if (e.resources) lines.push(`    resources: ${JSON.stringify(e.resources)}`);
  }
  return `${lines.join('\n')}\n`;
}
