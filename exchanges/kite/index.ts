/**
 * The built-in Kite exchange's public surface: start one (exchange.ts), and the types its users
 * (tests, benchmarks, `orch sim`, paper trading) see. The modules inside the folder import each
 * other directly.
 */
export { startKiteSim, type KiteSim, type KiteSimOptions } from './exchange.ts';
export type { KiteSimObserver, WebLoginAnswer } from './context.ts';
export type { KiteSimCredentials } from './sessions.ts';
export type { SimInstrument } from './instruments.ts';
export type { KiteFaults, FailSpec } from './faults.ts';
export type { KiteOrderRecord, KiteTradeRecord } from './order-wire.ts';
export type { FaultCommand } from './routes-sim.ts';
export { KITE_RATE_LIMITS, type KiteRateLimits } from './rate-limits.ts';
