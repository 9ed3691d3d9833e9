import type { AcquireOptions, BucketSnapshot, RateLimiter } from '../limiter/types.ts';

/**
 * A limiter that lets everything through at once and remembers what it was asked, for tests
 * of the Kite clients (the real token-bucket limiter lives in broker/limiter/).
 */
export class PassThroughLimiter implements RateLimiter {
  readonly acquired: { category: string; priority: AcquireOptions['priority'] }[] = [];
  readonly pauses: { category: string; untilMs: number }[] = [];

  async acquire(category: string, opts: AcquireOptions = {}): Promise<void> {
    this.acquired.push({ category, priority: opts.priority });
  }
  pauseUntil(category: string, untilMs: number): void {
    this.pauses.push({ category, untilMs });
  }
  snapshot(): BucketSnapshot[] {
    return [];
  }
}

/**
 * Kite's answers and the error kind each must become (HTTP status, `error_type` or none, kind):
 * the mapping unit-tested in errors.test.ts and driven over real HTTP in rest-client.test.ts.
 */
export const KITE_ERROR_CASES: readonly (readonly [number, string | undefined, string])[] = [
  [400, 'InputException', 'InputException'],
  [403, 'TokenException', 'TokenException'],
  [403, 'PermissionException', 'PermissionException'],
  [403, 'UserException', 'PermissionException'],
  [500, 'OrderException', 'OrderException'],
  [400, 'OrderException', 'OrderException'],
  [400, 'HoldingException', 'OrderException'],
  [400, 'MarginException', 'MarginException'],
  [400, 'ExchangeException', 'ExchangeException'],
  [428, 'TPINAuthException', 'TPINAuthException'],
  [428, undefined, 'TPINAuthException'],
  [500, 'GeneralException', 'GeneralException'],
  [503, 'NetworkException', 'GatewayError'],
  [502, 'DataException', 'GatewayError'],
  [504, 'DataException', 'GatewayError'],
  [429, 'NetworkException', 'RateLimited'],
  [429, 'InputException', 'RateLimited'],
  [429, undefined, 'RateLimited'],
  [500, undefined, 'ServerError'],
  [501, undefined, 'ServerError'],
  [502, undefined, 'GatewayError'],
  [503, undefined, 'GatewayError'],
  [504, undefined, 'GatewayError'],
  [401, undefined, 'TokenException'],
  [403, undefined, 'TokenException'],
  [404, undefined, 'NotFound'],
  [409, undefined, 'Conflict'],
  [400, undefined, 'InputException'],
  [400, 'SomethingNewException', 'InputException'],
  [503, 'SomethingNewException', 'GatewayError'],
];
