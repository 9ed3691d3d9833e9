import type { Clock } from '../../actors/clock.ts';
import type { KalshiMarket } from './schemas.ts';

/**
 * Market metadata (status, tick grid) changes rarely, but placing an order on a closed market
 * or off the grid is a wasted write. A TTL cache on the injected Clock keeps the lookups cheap;
 * concurrent misses for one ticker share a single request.
 */
export class MarketCache {
  private readonly entries = new Map<string, { market: KalshiMarket; expires: number }>();
  private readonly inflight = new Map<string, Promise<KalshiMarket>>();

  constructor(
    private readonly fetchMarket: (ticker: string) => Promise<KalshiMarket>,
    private readonly clock: Clock,
    private readonly ttlMs = 60_000,
  ) {}

  async get(ticker: string): Promise<KalshiMarket> {
    const hit = this.entries.get(ticker);
    if (hit && hit.expires > this.clock.now()) return hit.market;
    const pending = this.inflight.get(ticker);
    if (pending) return pending;
    const p = this.fetchMarket(ticker)
      .then((market) => {
        this.entries.set(ticker, { market, expires: this.clock.now() + this.ttlMs });
        return market;
      })
      .finally(() => this.inflight.delete(ticker));
    this.inflight.set(ticker, p);
    return p;
  }

  /** Seed from a bulk listing so the first order per market costs no extra read. */
  put(market: KalshiMarket): void {
    this.entries.set(market.ticker, { market, expires: this.clock.now() + this.ttlMs });
  }

  invalidate(ticker?: string): void {
    if (ticker === undefined) this.entries.clear();
    else this.entries.delete(ticker);
  }
}
