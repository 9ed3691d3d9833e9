/** Quotes keyed "EXCHANGE:SYMBOL", and the instruments dump as exact `text/csv`. */
import type { SimContext } from './context.ts';
import { inputError } from './errors.ts';
import { csv, ok, type Router, type SimRequest } from './http-kit.ts';
import { instrumentsCsv, tickPaiseOf, type SimInstrument } from './instruments.ts';
import { averagePricePaise, snapToTick, type DepthLevel, type MarketState } from './market.ts';
import { istDateTime } from './time.ts';

const rupees = (paise: number) => Math.round(paise) / 100;
/** Kite's documented caps per call. */
const MAX_QUOTE = 500;
const MAX_OHLC_LTP = 1000;

function lookup(ctx: SimContext, req: SimRequest, max: number): [string, SimInstrument, MarketState][] {
  const keys = req.query.getAll('i');
  if (!keys.length) throw inputError('Invalid `i`: at least one instrument is required.');
  if (keys.length > max) throw inputError(`Invalid \`i\`: at most ${max} instruments per request.`);
  const out: [string, SimInstrument, MarketState][] = [];
  for (const k of keys) {
    // Unknown instruments are left out of the answer, as Kite does.
    const inst = ctx.index.key(k);
    const s = inst && ctx.market.state(inst.instrumentToken);
    if (inst && s) out.push([k, inst, s]);
  }
  return out;
}

const ohlc = (s: MarketState) => ({ open: rupees(s.openPaise), high: rupees(s.highPaise), low: rupees(s.lowPaise), close: rupees(s.closePaise) });
const depthSide = (levels: DepthLevel[]) =>
  Array.from({ length: 5 }, (_, i) => {
    const l = levels[i];
    return { price: l ? rupees(l.pricePaise) : 0, quantity: l?.quantity ?? 0, orders: l?.orders ?? 0 };
  });

export function addMarketRoutes(r: Router, ctx: SimContext): void {
  r.add('GET', '/quote', { kind: 'api', rate: 'quote' }, (req) => {
    const data: Record<string, unknown> = {};
    for (const [k, inst, s] of lookup(ctx, req, MAX_QUOTE)) {
      data[k] = {
        instrument_token: inst.instrumentToken,
        timestamp: istDateTime(ctx.clock.now()),
        last_trade_time: istDateTime(s.lastTradeMs),
        last_price: rupees(s.lastPaise),
        last_quantity: s.lastQuantity,
        buy_quantity: s.totalBuyQuantity,
        sell_quantity: s.totalSellQuantity,
        volume: s.volume,
        average_price: inst.tradable ? rupees(averagePricePaise(s)) : 0,
        oi: s.oi,
        oi_day_high: s.oiDayHigh,
        oi_day_low: s.oiDayLow,
        net_change: rupees(s.lastPaise - s.closePaise),
        lower_circuit_limit: inst.tradable ? rupees(snapToTick(s.closePaise * 0.8, tickPaiseOf(inst))) : 0,
        upper_circuit_limit: inst.tradable ? rupees(snapToTick(s.closePaise * 1.2, tickPaiseOf(inst))) : 0,
        ohlc: ohlc(s),
        depth: { buy: depthSide(s.bids), sell: depthSide(s.asks) },
      };
    }
    return ok(data);
  });

  r.add('GET', '/quote/ohlc', { kind: 'api', rate: 'quote' }, (req) => {
    const data: Record<string, unknown> = {};
    for (const [k, inst, s] of lookup(ctx, req, MAX_OHLC_LTP)) {
      data[k] = { instrument_token: inst.instrumentToken, last_price: rupees(s.lastPaise), ohlc: ohlc(s) };
    }
    return ok(data);
  });

  r.add('GET', '/quote/ltp', { kind: 'api', rate: 'quote' }, (req) => {
    const data: Record<string, unknown> = {};
    for (const [k, inst, s] of lookup(ctx, req, MAX_OHLC_LTP)) data[k] = { instrument_token: inst.instrumentToken, last_price: rupees(s.lastPaise) };
    return ok(data);
  });

  r.add('GET', '/instruments', { kind: 'api', rate: 'other' }, () => csv(instrumentsCsv(ctx.index.list)));
  r.add('GET', '/instruments/:exchange', { kind: 'api', rate: 'other' }, (req) => {
    const exchange = req.params.exchange ?? '';
    if (!/^[A-Z]+$/.test(exchange)) throw inputError('Invalid `exchange`.');
    return csv(instrumentsCsv(ctx.index.list, exchange));
  });
}
