/**
 * The Kalshi venue's public surface: what the rest of the system uses of broker/kalshi/. The
 * modules inside the folder import each other directly, never through this file.
 */
export { KalshiVenue, type KalshiVenueEvents, type KalshiVenueOptions, type PlaceOrderArgs, type OrderUpdate } from './venue.ts';
export { KALSHI_READ, KALSHI_WRITE, KalshiCosts, type KalshiTier } from './ratelimit.ts';
export { KalshiRest } from './rest.ts';
export { KalshiWs } from './ws-client.ts';
export type { BookUpdate, FillUpdate, OrderPush } from './ws-client.ts';
export type { KalshiOrder, KalshiPosition, KalshiFill } from './schemas.ts';
