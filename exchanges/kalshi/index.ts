/**
 * The built-in Kalshi exchange's public surface: start one, and the types its users (tests,
 * `orch sim`, paper trading) see. The modules inside the folder import each other directly.
 */
export { startKalshiSim, WS_PATH, type KalshiSim, type KalshiSimOptions } from './exchange.ts';
export type { KalshiFaults } from './faults.ts';
export type { SimTier } from './limits.ts';
export type { FieldSet } from './wire.ts';
export type { SimOrder, SimFill } from './engine.ts';
