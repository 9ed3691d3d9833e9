import { VenueError, type ErrorKind } from '../venue-errors.ts';

/** Pure mapping from what Kite (or the network) said to our error taxonomy. */

export const VENUE = 'kite';

/** Kite's message for a modify past its per-order cap. */
const MODIFICATIONS_EXCEEDED = /maximum allowed order modifications exceeded/i;

export function kindForErrorType(errorType: string): ErrorKind | undefined {
  switch (errorType) {
    case 'InputException':
      return 'InputException';
    case 'TokenException':
      return 'TokenException';
    case 'PermissionException':
    case 'UserException': // account-level problem: retrying cannot fix it, a human must look
    case 'TwoFAException':
      return 'PermissionException';
    case 'TPINAuthException':
      return 'TPINAuthException';
    case 'OrderException':
    case 'HoldingException': // not enough holdings to sell: a refusal, like an order rejection
      return 'OrderException';
    case 'MarginException':
      return 'MarginException';
    case 'ExchangeException':
      return 'ExchangeException';
    case 'NetworkException': // API ↔ OMS link down (503)
    case 'DataException': // API could not read the OMS answer (502/504)
      return 'GatewayError';
    case 'GeneralException':
      return 'GeneralException';
    default:
      return undefined;
  }
}

export function kindForStatus(status: number): ErrorKind {
  if (status === 429) return 'RateLimited';
  if (status === 502 || status === 503 || status === 504) return 'GatewayError';
  if (status >= 500) return 'ServerError';
  if (status === 401 || status === 403) return 'TokenException';
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status === 428) return 'TPINAuthException';
  return 'InputException';
}

/**
 * A 429 is a rate-limit answer whatever body it carries (the JS client even reports a plain-text
 * 429 as NetworkException); otherwise Kite's error_type is the more precise word.
 */
export function kindForResponse(status: number, errorType: string | undefined, message?: string): ErrorKind {
  if (status === 429) return 'RateLimited';
  // Kite refuses a 26th modification of one order as a NetworkException (503): a refusal that no
  // retry can change, not a link down (docs/venues/kite.md "Modifications per order").
  if (message !== undefined && MODIFICATIONS_EXCEEDED.test(message)) return 'OrderException';
  const byType = errorType === undefined ? undefined : kindForErrorType(errorType);
  return byType ?? kindForStatus(status);
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value == null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * Socket-level codes that prove the request never reached Kite's HTTP server: the connection
 * was never made. A reset or "other side closed" after connecting is different: the request
 * may have been read, so a write must be looked up before it is retried.
 */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const SOCKET_CODES = new Set([...NEVER_CONNECTED, 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);

/** Finds the first errno-style code on an error or its cause chain (undici nests them). */
export function socketErrorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && SOCKET_CODES.has(code)) return code;
    const errors = (e as { errors?: unknown }).errors; // AggregateError from happy-eyeballs
    if (Array.isArray(errors)) {
      for (const inner of errors) {
        const c = socketErrorCode(inner);
        if (c) return c;
      }
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Tells a ConnectionError that proves the request never arrived from one that may have. */
export function neverArrived(err: VenueError): boolean {
  if (err.kind !== 'ConnectionError') return false;
  const code = socketErrorCode(err.cause);
  return code !== undefined && NEVER_CONNECTED.has(code);
}

export function venueError(kind: ErrorKind, message: string, extra: { status?: number; retryAfterMs?: number; cause?: unknown } = {}): VenueError {
  return new VenueError({ venue: VENUE, kind, message, ...extra });
}
