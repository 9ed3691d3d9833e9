import { VenueError, type ErrorKind } from '../venue-errors.ts';

export const VENUE = 'kalshi';

/**
 * Kalshi error bodies come as `{code,message,details}` (documented), wrapped as
 * `{"error":{...}}` (seen in the wild) or as `{"error":"too many requests"}` on 429.
 */
export function errorDetail(body: unknown): { code: string | undefined; message: string | undefined } {
  if (!body || typeof body !== 'object') return { code: undefined, message: typeof body === 'string' && body ? body : undefined };
  const o = body as Record<string, unknown>;
  const inner = o.error;
  if (typeof inner === 'string') return { code: undefined, message: inner };
  const src = inner && typeof inner === 'object' ? (inner as Record<string, unknown>) : o;
  return {
    code: typeof src.code === 'string' ? src.code : undefined,
    message: typeof src.message === 'string' ? src.message : undefined,
  };
}

/** 400s say "your request is wrong"; the code says whether the strategy, the order or the market is to blame. */
function kindFor400(code: string | undefined): ErrorKind {
  switch ((code ?? '').toLowerCase()) {
    case 'insufficient_balance':
    case 'exceeded_per_market_risk_limit':
      return 'MarginException';
    case 'market_not_found':
    case 'market_already_closed':
    case 'market_closed':
    case 'market_inactive':
    case 'trading_paused':
    case 'exchange_paused':
    case 'exchange_closed':
      return 'ExchangeException';
    case 'invalid_order':
    case 'post_only_cross':
    case 'fok_insufficient_volume':
    case 'self_cross_attempt':
    case 'order_group_not_found':
      return 'OrderException';
    case 'order_already_exists':
      return 'Conflict';
    default:
      return 'InputException';
  }
}

export function kindForStatus(status: number, code?: string): ErrorKind {
  if (status === 400 || status === 422) return kindFor400(code);
  if (status === 401) return 'TokenException';
  if (status === 403) return 'PermissionException';
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status === 429) return 'RateLimited';
  if (status === 502 || status === 503 || status === 504) return 'GatewayError';
  if (status >= 500) return 'ServerError';
  return 'GeneralException';
}

export function httpError(status: number, body: unknown, retryAfterMs?: number): VenueError {
  const { code, message } = errorDetail(body);
  const args: ConstructorParameters<typeof VenueError>[0] = {
    venue: VENUE,
    kind: kindForStatus(status, code),
    message: `kalshi HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`,
    status,
  };
  if (retryAfterMs !== undefined) args.retryAfterMs = retryAfterMs;
  return new VenueError(args);
}

/**
 * fetch failures: refused means the request never left, so it is a plain reconnect-and-retry;
 * anything else (reset, socket hang-up) may have reached the exchange.
 */
export function networkError(cause: unknown): VenueError {
  const code = causeCode(cause);
  const refused = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
  return new VenueError({
    venue: VENUE,
    kind: refused ? 'ConnectionError' : 'Timeout',
    message: `kalshi network error${code ? ` ${code}` : ''}`,
    cause,
  });
}

export function timeoutError(ms: number): VenueError {
  return new VenueError({ venue: VENUE, kind: 'Timeout', message: `kalshi request timed out after ${ms} ms` });
}

export function badResponse(path: string, issue: string, cause?: unknown): VenueError {
  return new VenueError({ venue: VENUE, kind: 'GeneralException', message: `kalshi ${path}: unexpected response: ${issue}`, cause });
}

function causeCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && typeof cur === 'object' && depth < 4; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}
