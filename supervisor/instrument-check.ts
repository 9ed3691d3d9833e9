import { readFile } from 'node:fs/promises';
import { ConfigError, lineOf, parseConfigText } from './config.ts';
import type { LoadedConfig } from '../config/registry.ts';

/**
 * Whether a venue lists an instrument: true, false (unknown there), or undefined when this
 * process cannot tell (no adapter for the venue, or it keeps no list): then it is not refused.
 */
export type InstrumentLookup = (venue: string, symbol: string) => Promise<boolean | undefined>;

/**
 * The first instrument of an enabled strategy that its venue does not list, as a ConfigError
 * naming the registry's file and line (`strategies[i].instruments[j]`), like any YAML error.
 * A strategy trading an instrument that does not exist would never see a tick nor fill an order.
 */
export async function unknownInstrument(config: LoadedConfig, knows: InstrumentLookup): Promise<ConfigError | undefined> {
  for (const [i, s] of config.strategies.entries()) {
    if (!s.enabled) continue;
    for (const [j, symbol] of s.instruments.entries()) {
      if ((await knows(s.venue, symbol)) !== false) continue;
      let line: number | undefined;
      try {
        const { doc, counter } = parseConfigText(await readFile(config.file, 'utf8'), config.file);
        line = lineOf(doc, counter, ['strategies', i, 'instruments', j]);
      } catch {
        line = undefined; // the file was valid when loaded; the line is a courtesy
      }
      return new ConfigError(config.file, line, `strategies[${i}].instruments[${j}]`, `${s.id}: ${symbol} is not in the ${s.venue} instrument list`);
    }
  }
  return undefined;
}

/** An InstrumentLookup over the running venue adapters (each answers through its own `knows`). */
export function lookupFromAdapters(adapters: readonly { venue: string; knows?(symbol: string): Promise<boolean | undefined> }[]): InstrumentLookup {
  return async (venue, symbol) => {
    const a = adapters.find((x) => x.venue === venue);
    return a?.knows ? a.knows(symbol) : undefined;
  };
}
