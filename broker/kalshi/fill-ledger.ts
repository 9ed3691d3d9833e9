/**
 * How much of each Kalshi order has filled, merged from every path that reports it: the `fill`
 * WebSocket channel (one message per trade), the create response (`fill_count`, cumulative),
 * REST order reads (`fill_count_fp`, cumulative) and REST fills (one row per trade).
 *
 * Trades are keyed by trade id, so the same trade from the socket and from REST counts once.
 * A cumulative figure from REST is a floor: it covers trades whose ids we have not seen (for
 * instance while the socket was down). The filled quantity is the larger of the two, never
 * their sum, so a late push of a trade the floor already covers adds nothing.
 */
export type Trade = { count: number; price: number };

type Entry = { trades: Map<string, Trade>; floor: number };

export class FillLedger {
  private readonly orders = new Map<string, Entry>();

  private entry(orderId: string): Entry {
    let e = this.orders.get(orderId);
    if (!e) {
      e = { trades: new Map(), floor: 0 };
      this.orders.set(orderId, e);
    }
    return e;
  }

  /** One trade of one order; false when this trade was already known. */
  trade(orderId: string, tradeId: string, t: Trade): boolean {
    const e = this.entry(orderId);
    if (e.trades.has(tradeId)) return false;
    e.trades.set(tradeId, { count: t.count, price: t.price });
    return true;
  }

  /** A cumulative filled count reported by the exchange; it only ever raises the floor. */
  cumulative(orderId: string, filled: number): void {
    const e = this.entry(orderId);
    if (filled > e.floor) e.floor = filled;
  }

  /** Trades seen one by one. */
  tradedCount(orderId: string): number {
    let n = 0;
    for (const t of this.orders.get(orderId)?.trades.values() ?? []) n += t.count;
    return n;
  }

  /** The filled quantity in hundredths of a contract. */
  filled(orderId: string): number {
    const e = this.orders.get(orderId);
    return e ? Math.max(e.floor, this.tradedCount(orderId)) : 0;
  }

  /** True when REST says more filled than the trades we have seen: fetch the order's fills. */
  missingTrades(orderId: string): boolean {
    const e = this.orders.get(orderId);
    return e !== undefined && e.floor > this.tradedCount(orderId);
  }

  /**
   * Average price of the trades seen, hundredths of a cent, rounded half up. Undefined before
   * the first trade (a floor alone has no price).
   */
  avgPrice(orderId: string): number | undefined {
    let count = 0n;
    let notional = 0n;
    for (const t of this.orders.get(orderId)?.trades.values() ?? []) {
      count += BigInt(t.count);
      notional += BigInt(t.price) * BigInt(t.count);
    }
    if (count === 0n) return undefined;
    return Number((notional * 2n + count) / (count * 2n));
  }

  forget(orderId: string): void {
    this.orders.delete(orderId);
  }
}
