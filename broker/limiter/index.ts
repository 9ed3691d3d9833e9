/** The shared rate limiter: one import for adapters and the broker actor. */
export { PRIORITIES, type Priority, type AcquireOptions, type BucketSnapshot, type RateLimiter } from './types.ts';
export { SharedLimiter, DEFAULT_PRIORITY, type SharedLimiterOptions } from './shared-limiter.ts';
export { LimiterClosedError } from '../errors.ts';
export {
  kiteLimits, kalshiLimits, kalshiBucketSpec, mergeLimits, resolveCategory, KITE_LIMIT_DEFAULTS, KALSHI_TIERS, KALSHI_TIER_BUCKETS,
  type LimitsConfig, type LimitOptions, type KalshiTier, type KalshiBucket, type KiteLimitFigures, type CategoryAlias,
} from './limits.ts';
export {
  take, createBucket, nextFreeAt, pause, tightest, toMilli, MILLI_PER_TOKEN,
  type Bucket, type CategorySpec, type WindowSpec, type TakeResult,
} from './window-log.ts';
