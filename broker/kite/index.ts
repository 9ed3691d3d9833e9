/**
 * The project's own Kite Connect v3 clients. Wiring, in short:
 *   session = new KiteSessionManager({...}); await session.start();
 *   rest    = new KiteRestClient({ getAccessToken: () => session.currentAccessToken(), limiter, clock, ... });
 *   retry   = new KiteRetry({ clock, reauthenticate: () => session.reauthenticate() });
 *   writer  = new KiteOrderWriter(rest, retry);           // placeOrderIdempotent / modifyOrderSafe / cancelOrderSafe
 *   ticker  = new KiteTickerClient({ getAccessToken: () => session.getAccessToken(), clock, ... });
 *   ticker.events.on('reconcile', () => reconciler.run());
 */
export { KiteRestClient, formEncode, type KiteCategory, type Variety, type PlaceOrderParams, type ModifyOrderParams, type CallOptions, type KiteRestOptions } from './rest-client.ts';
export { KiteRetry, decide, type Decision, type Budget, type LookupResult, type WriteResult } from './retry.ts';
export { KiteOrderWriter, findByTag, modifyApplied, type PlaceOutcome, type ChangeOutcome } from './order-writer.ts';
export { KiteSessionManager, nextKiteExpiry, refreshAt, type KiteCredentials, type TokenRecord, type KiteSessionOptions, type WebLoginCredentials } from './session.ts';
export { IST_OFFSET_MS, istDate, nseCashMarketOpen } from './market-hours.ts';
export { KiteTickerClient, type TickerState, type TickerEvents, type KiteTickerOptions } from './ticker-client.ts';
export { intentTag, parseTag, tagMatches } from './tag.ts';
export * from './ticker-parser.ts';
export { encodeFrame, encodePacket, encodeControl, HEARTBEAT, type ControlMessage } from './ticker-codec.ts';
export { kindForErrorType, kindForResponse, kindForStatus, neverArrived, parseRetryAfter, socketErrorCode } from './errors.ts';
export type * from './schemas.ts';
export type { KiteInstrument } from './instruments.ts';
export { KiteOrderStates, transition, normalizedState, kiteTime, KITE_STATUSES, type KiteOrderSnapshot, type KiteStatus, type Verdict } from './order-state.ts';
export { startPostbackServer, checkPostback, postbackChecksum, POSTBACK_PATH, type PostbackServer } from './postback.ts';
