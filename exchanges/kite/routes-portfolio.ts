/** Positions from fills; holdings are a fixed demo portfolio marked to the live price path. */
import type { SimContext } from './context.ts';
import { ok, type Router } from './http-kit.ts';

/** The demo account's settled holdings: symbol, quantity, average cost in paise. */
const DEMO_HOLDINGS: [symbol: string, quantity: number, averagePaise: number][] = [
  ['INFY', 10, 142050],
  ['SBIN', 25, 70230],
  ['ITC', 100, 39810],
];

const rupees = (paise: number) => Math.round(paise) / 100;

export function addPortfolioRoutes(r: Router, ctx: SimContext): void {
  r.add('GET', '/portfolio/positions', { kind: 'api', rate: 'other' }, () => ok(ctx.engine.positions.wire((t) => ctx.market.state(t))));

  r.add('GET', '/portfolio/holdings', { kind: 'api', rate: 'other' }, () => {
    const rows = [];
    for (const [symbol, quantity, avg] of DEMO_HOLDINGS) {
      const inst = ctx.index.symbol('NSE', symbol);
      const s = inst && ctx.market.state(inst.instrumentToken);
      if (!inst || !s) continue;
      const dayChange = s.lastPaise - s.closePaise;
      rows.push({
        tradingsymbol: inst.tradingsymbol,
        exchange: inst.exchange,
        instrument_token: inst.instrumentToken,
        isin: inst.isin,
        product: 'CNC',
        price: 0,
        quantity,
        used_quantity: 0,
        t1_quantity: 0,
        realised_quantity: quantity,
        authorised_quantity: 0,
        authorised_date: '2026-01-01 00:00:00',
        authorisation: {},
        opening_quantity: quantity,
        short_quantity: 0,
        collateral_quantity: 0,
        collateral_type: '',
        discrepancy: false,
        average_price: rupees(avg),
        last_price: rupees(s.lastPaise),
        close_price: rupees(s.closePaise),
        pnl: rupees((s.lastPaise - avg) * quantity),
        day_change: rupees(dayChange),
        day_change_percentage: s.closePaise ? (dayChange * 100) / s.closePaise : 0,
        mtf: { quantity: 0, used_quantity: 0, average_price: 0, value: 0, initial_margin: 0 },
      });
    }
    return ok(rows);
  });
}
