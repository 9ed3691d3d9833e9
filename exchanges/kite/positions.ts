/**
 * Positions as projections of fills, with average-cost accounting: a reducing fill books
 * realised P&L against the running average, so realised + unrealised = sells - buys + qty × LTP.
 */
import type { SimInstrument } from './instruments.ts';
import type { MarketState } from './market.ts';

export type Product = 'CNC' | 'NRML' | 'MIS' | 'MTF';

type Position = {
  instrument: SimInstrument;
  product: Product;
  quantity: number;
  /** Average cost of the open quantity, in (possibly fractional) paise. */
  averagePaise: number;
  realisedPaise: number;
  buyQuantity: number;
  buyValuePaise: number;
  sellQuantity: number;
  sellValuePaise: number;
};

const r4 = (paise: number) => Math.round(paise * 100) / 1e4; // paise → rupees, 4 decimals
const r2 = (paise: number) => Math.round(paise) / 100;

export class PositionBook {
  private readonly book = new Map<string, Position>();

  applyFill(instrument: SimInstrument, product: Product, side: 'BUY' | 'SELL', qty: number, pricePaise: number): void {
    const key = `${instrument.instrumentToken}:${product}`;
    let p = this.book.get(key);
    if (!p) {
      p = { instrument, product, quantity: 0, averagePaise: 0, realisedPaise: 0, buyQuantity: 0, buyValuePaise: 0, sellQuantity: 0, sellValuePaise: 0 };
      this.book.set(key, p);
    }
    const signed = side === 'BUY' ? qty : -qty;
    if (side === 'BUY') {
      p.buyQuantity += qty;
      p.buyValuePaise += qty * pricePaise;
    } else {
      p.sellQuantity += qty;
      p.sellValuePaise += qty * pricePaise;
    }
    if (p.quantity === 0 || Math.sign(p.quantity) === Math.sign(signed)) {
      // Opening or adding: new weighted average.
      const total = Math.abs(p.quantity) + qty;
      p.averagePaise = (p.averagePaise * Math.abs(p.quantity) + pricePaise * qty) / total;
      p.quantity += signed;
      return;
    }
    // Reducing, possibly flipping through zero.
    const closing = Math.min(qty, Math.abs(p.quantity));
    p.realisedPaise += closing * (pricePaise - p.averagePaise) * Math.sign(p.quantity);
    p.quantity += signed;
    if (p.quantity === 0) p.averagePaise = 0;
    else if (closing < qty) p.averagePaise = pricePaise; // flipped: the remainder opened at this price
  }

  /** Open exposure at average cost, for margin utilisation. */
  exposurePaise(factor: (product: Product, instrument: SimInstrument) => number): number {
    let sum = 0;
    for (const p of this.book.values()) sum += Math.abs(p.quantity) * p.averagePaise * factor(p.product, p.instrument);
    return sum;
  }

  totals(state: (token: number) => MarketState | undefined): { realisedPaise: number; unrealisedPaise: number } {
    let realisedPaise = 0;
    let unrealisedPaise = 0;
    for (const p of this.book.values()) {
      const ltp = state(p.instrument.instrumentToken)?.lastPaise ?? p.averagePaise;
      realisedPaise += p.realisedPaise;
      unrealisedPaise += (ltp - p.averagePaise) * p.quantity;
    }
    return { realisedPaise, unrealisedPaise };
  }

  /** Kite's `{net, day}`. The sim has no overnight carry, so both lists hold the same rows. */
  wire(state: (token: number) => MarketState | undefined) {
    const rows = [...this.book.values()].map((p) => {
      const s = state(p.instrument.instrumentToken);
      const ltp = s?.lastPaise ?? 0;
      const close = s?.closePaise ?? 0;
      const unrealised = p.quantity === 0 ? 0 : (ltp - p.averagePaise) * p.quantity;
      const pnl = p.realisedPaise + unrealised;
      const buyPrice = p.buyQuantity ? p.buyValuePaise / p.buyQuantity : 0;
      const sellPrice = p.sellQuantity ? p.sellValuePaise / p.sellQuantity : 0;
      return {
        tradingsymbol: p.instrument.tradingsymbol,
        exchange: p.instrument.exchange,
        instrument_token: p.instrument.instrumentToken,
        product: p.product,
        quantity: p.quantity,
        overnight_quantity: 0,
        multiplier: 1,
        average_price: r4(p.averagePaise),
        close_price: r2(close),
        last_price: r2(ltp),
        value: r2(p.sellValuePaise - p.buyValuePaise),
        pnl: r2(pnl),
        m2m: r2(pnl),
        unrealised: r2(unrealised),
        realised: r2(p.realisedPaise),
        buy_quantity: p.buyQuantity,
        buy_price: r4(buyPrice),
        buy_value: r2(p.buyValuePaise),
        buy_m2m: r2(p.buyValuePaise),
        sell_quantity: p.sellQuantity,
        sell_price: r4(sellPrice),
        sell_value: r2(p.sellValuePaise),
        sell_m2m: r2(p.sellValuePaise),
        day_buy_quantity: p.buyQuantity,
        day_buy_price: r4(buyPrice),
        day_buy_value: r2(p.buyValuePaise),
        day_sell_quantity: p.sellQuantity,
        day_sell_price: r4(sellPrice),
        day_sell_value: r2(p.sellValuePaise),
      };
    });
    return { net: rows, day: rows.map((r) => ({ ...r })) };
  }
}
