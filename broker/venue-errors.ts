/**
 * One error taxonomy for every venue (Kite's, with Kalshi mapped onto the same actions).
 * Errors are data: they cross NATS as `toWire()` and are rebuilt with `fromWire()`.
 */
export const ERROR_KINDS = [
  'InputException',
  'TokenException',
  'PermissionException',
  'TPINAuthException',
  'OrderException',
  'ExchangeException',
  'MarginException',
  'GeneralException',
  'RateLimited',
  'ServerError',
  'GatewayError',
  'Timeout',
  'ConnectionError',
  'Conflict',
  'NotFound',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export type ErrorAction =
  | 'never_retry' // a bug in the request: retrying cannot help
  | 'reauthenticate' // fresh token, then continue
  | 'alert' // never retry, raise an alert
  | 'backoff' // 429: honour Retry-After, full jitter, pause the bucket
  | 'retry' // transient: retry within the budget
  | 'halt_strategy' // margin: kill level 1 for the strategy
  | 'lookup_first' // the write may have landed: look it up before any retry
  | 'reconnect'; // the request never arrived: reconnect, then retry

export type ErrorPolicy = { action: ErrorAction; maxRetries: number };

/** ARCHITECTURE.md "Errors": what each kind means for the caller. */
export const ERROR_POLICY: Readonly<Record<ErrorKind, ErrorPolicy>> = Object.freeze({
  InputException: { action: 'never_retry', maxRetries: 0 },
  TokenException: { action: 'reauthenticate', maxRetries: 1 },
  PermissionException: { action: 'alert', maxRetries: 0 },
  // HTTP 428: selling holdings needs the CDSL TPIN/eDIS authorisation, which only the account
  // holder can give in a browser. Retrying cannot help; a human must act (docs/venues/kite.md).
  TPINAuthException: { action: 'alert', maxRetries: 0 },
  OrderException: { action: 'never_retry', maxRetries: 0 },
  ExchangeException: { action: 'never_retry', maxRetries: 0 },
  MarginException: { action: 'halt_strategy', maxRetries: 0 },
  GeneralException: { action: 'retry', maxRetries: 1 },
  RateLimited: { action: 'backoff', maxRetries: 5 },
  ServerError: { action: 'retry', maxRetries: 3 },
  GatewayError: { action: 'retry', maxRetries: 5 },
  Timeout: { action: 'lookup_first', maxRetries: 3 },
  ConnectionError: { action: 'reconnect', maxRetries: 3 },
  Conflict: { action: 'lookup_first', maxRetries: 0 },
  NotFound: { action: 'never_retry', maxRetries: 0 },
});

export type VenueErrorWire = {
  name: 'VenueError';
  venue: string;
  kind: ErrorKind;
  message: string;
  status?: number;
  retryAfterMs?: number;
};

export class VenueError extends Error {
  override readonly name = 'VenueError';
  readonly venue: string;
  readonly kind: ErrorKind;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(args: { venue: string; kind: ErrorKind; message: string; status?: number; retryAfterMs?: number; cause?: unknown }) {
    super(args.message, args.cause === undefined ? undefined : { cause: args.cause });
    this.venue = args.venue;
    this.kind = args.kind;
    this.status = args.status;
    this.retryAfterMs = args.retryAfterMs;
  }
  get policy(): ErrorPolicy {
    return ERROR_POLICY[this.kind];
  }
  /** Reads may be retried per policy; writes only when the venue cannot have seen them. */
  get retryable(): boolean {
    const a = this.policy.action;
    return a === 'retry' || a === 'backoff' || a === 'reconnect' || a === 'reauthenticate';
  }
  toWire(): VenueErrorWire {
    const w: VenueErrorWire = { name: 'VenueError', venue: this.venue, kind: this.kind, message: this.message };
    if (this.status !== undefined) w.status = this.status;
    if (this.retryAfterMs !== undefined) w.retryAfterMs = this.retryAfterMs;
    return w;
  }
  static fromWire(w: VenueErrorWire): VenueError {
    return new VenueError(w);
  }
}
