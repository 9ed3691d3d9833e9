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
  tickMode?: 'ltp' | 'quote' | 'full';
  params?: Record<string, unknown>;
  risk?: Record<string, number>;
  /** Kite: market_protection of the strategy's MARKET orders. */
  marketProtection?: number;
  killTriggers?: Record<string, number>;
  onRemove?: 'cancel-orders' | 'leave-orders';
  resources?: Record<string, number>;
  restart?: { maxRestarts: number; withinSeconds: number };
  /** Placement group (orch start --role strategies --group). */
  group?: string;
};

/** The registry's top-level settings besides `strategies`. */
export type RegistryOptions = {
  killTriggers?: Record<string, number>;
  /** How flattens close and follow (marketProtection, followMs, maxReprices). */
  flatten?: Record<string, number>;
  restartIntensity?: { maxRestarts: number; withinSeconds: number };
  /** Market-data recording (marketData, maxAgeHours, maxBytes). */
  recording?: Record<string, number | boolean>;
};

export const DEFAULT_RISK = { maxOrderQty: 5, maxOrderValue: 100_000_000, maxPosition: 10, maxOpenOrders: 3, priceBandBps: 1000 };

export function renderRegistry(entries: RegistryEntry[], options: RegistryOptions = {}): string {
  const lines: string[] = [];
  if (options.restartIntensity) lines.push(`restartIntensity: ${JSON.stringify(options.restartIntensity)}`);
  if (options.killTriggers) lines.push(`killTriggers: ${JSON.stringify(options.killTriggers)}`);
  if (options.flatten) lines.push(`flatten: ${JSON.stringify(options.flatten)}`);
  if (options.recording) lines.push(`recording: ${JSON.stringify(options.recording)}`);
  // The strategies come last, so a test may append a further entry to the text.
  lines.push('strategies:');
  for (const e of entries) {
    lines.push(
      `  - id: ${e.id}`,
      `    module: ${e.module}`,
      `    venue: ${e.venue ?? 'kite'}`,
      `    instruments: [${e.instruments.join(', ')}]`,
    );
    if (e.tickMode) lines.push(`    tickMode: ${e.tickMode}`);
    lines.push(
      `    params: ${JSON.stringify(e.params ?? {})}`,
      `    risk: ${JSON.stringify(e.risk ?? DEFAULT_RISK)}`,
    );
    if (e.marketProtection !== undefined) lines.push(`    marketProtection: ${e.marketProtection}`);
    if (e.killTriggers) lines.push(`    killTriggers: ${JSON.stringify(e.killTriggers)}`);
    if (e.onRemove) lines.push(`    onRemove: ${e.onRemove}`);
    if (e.resources) lines.push(`    resources: ${JSON.stringify(e.resources)}`);
    if (e.restart) lines.push(`    restart: ${JSON.stringify(e.restart)}`);
    if (e.group) lines.push(`    group: ${e.group}`);
  }
  return `${lines.join('\n')}\n`;
}
