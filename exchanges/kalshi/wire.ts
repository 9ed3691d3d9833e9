import { complement, costMicros, formatCount, formatMicros, formatPrice as formatDollars } from './units.ts';
import type { Position, SimEngine, SimFill, SimMarket, SimOrder } from './engine.ts';
import type { SimEvent, SimSeries } from './seed.ts';

/**
 * JSON shapes of kalshi-typescript 3.30.0 models, produced from the engine's integers: prices
 * with 4 decimals, money (fees, costs, exposure, P&L) with 6, counts with 2.
 *
 * Order direction: `outcome_side` (yes|no) and `book_side` (bid|ask) are current; `side` and
 * `action` are deprecated (docs/venues/kalshi.md, "Order direction"). `FieldSet` picks what is
 * sent: 'current' (the default: only the new fields, so a client that still leans on the old
 * ones fails here before it fails at Kalshi), 'legacy' (only the old ones, for the
 * compatibility test) or 'both' (what Kalshi sends during the deprecation window).
 */
export type FieldSet = 'current' | 'legacy' | 'both';

/** bid = buy YES (outcome yes); ask = sell YES, i.e. buy NO (outcome no). */
export function directionFields(side: 'bid' | 'ask', fields: FieldSet, prefix = ''): Record<string, string> {
  const outcome = side === 'bid' ? 'yes' : 'no';
  const out: Record<string, string> = {};
  if (fields !== 'legacy') {
    out[`${prefix}outcome_side`] = outcome;
    out[`${prefix}book_side`] = side;
  }
  return out;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function marketJson(engine: SimEngine, m: SimMarket): Record<string, unknown> {
  const top = engine.top(m.ticker);
  const bid = top.bid?.[0] ?? 0;
  const ask = top.ask?.[0] ?? 10_000;
  return {
    ticker: m.ticker, event_ticker: m.eventTicker, market_type: 'binary', title: m.title,
    yes_sub_title: m.title, no_sub_title: m.title,
    created_time: iso(m.openMs), updated_time: iso(m.openMs), open_time: iso(m.openMs), close_time: iso(m.closeMs),
    latest_expiration_time: iso(m.closeMs), settlement_timer_seconds: 3600, status: m.status,
    yes_bid_dollars: formatDollars(bid), yes_bid_size_fp: formatCount(top.bid?.[1] ?? 0),
    yes_ask_dollars: formatDollars(ask), yes_ask_size_fp: formatCount(top.ask?.[1] ?? 0),
    no_bid_dollars: formatDollars(complement(ask)), no_ask_dollars: formatDollars(complement(bid)),
    last_price_dollars: formatDollars(m.lastPrice), volume_fp: formatCount(m.volume), volume_24h_fp: formatCount(m.volume),
    result: '', can_close_early: true, open_interest_fp: formatCount(0), notional_value_dollars: '1.0000',
    previous_yes_bid_dollars: formatDollars(bid), previous_yes_ask_dollars: formatDollars(ask), previous_price_dollars: formatDollars(m.lastPrice),
    expiration_value: '', rules_primary: `Resolves YES if ${m.title}`, rules_secondary: '',
    price_level_structure: 'linear_cent', price_ranges: [{ start: '0.0100', end: '0.9900', step: '0.0100' }],
  };
}

export function eventJson(e: SimEvent, markets?: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    event_ticker: e.eventTicker, series_ticker: e.seriesTicker, sub_title: e.subTitle, title: e.title,
    collateral_return_type: '', mutually_exclusive: e.mutuallyExclusive, settlement_sources: [],
  };
  if (markets) out.markets = markets;
  return out;
}

export function seriesJson(s: SimSeries): Record<string, unknown> {
  return {
    ticker: s.ticker, frequency: s.frequency, title: s.title, category: s.category, categories: [s.category], tags: [],
    settlement_sources: [], contract_url: '', contract_terms_url: '', fee_type: 'quadratic', fee_multiplier: 1, additional_prohibitions: [],
  };
}

/** The one account this exchange serves (Kalshi's `user_id` is a UUID). */
export const SIM_USER_ID = '5f0c3a1e-7b2d-4c8e-9a61-0d4e8b2f7c13';

/** Fill costs and fees of an order, as taker and as maker (6 decimals). */
const costFields = (o: SimOrder) => ({
  taker_fill_cost_dollars: formatMicros(o.takerCostMicros), maker_fill_cost_dollars: formatMicros(o.makerCostMicros),
  taker_fees_dollars: formatMicros(o.takerFeesMicros), maker_fees_dollars: formatMicros(o.makerFeesMicros),
});

export function orderJson(o: SimOrder, fields: FieldSet = 'current'): Record<string, unknown> {
  const bid = o.side === 'bid';
  return {
    order_id: o.orderId, user_id: SIM_USER_ID, client_order_id: o.clientOrderId, ticker: o.ticker,
    ...(fields !== 'current' ? { side: bid ? 'yes' : 'no', action: 'buy' } : {}), ...directionFields(o.side, fields), type: 'limit', status: o.status,
    yes_price_dollars: formatDollars(o.price), no_price_dollars: formatDollars(complement(o.price)),
    fill_count_fp: formatCount(o.filled), remaining_count_fp: formatCount(o.remaining), initial_count_fp: formatCount(o.initialCount),
    ...costFields(o),
    created_time: iso(o.createdMs), last_update_time: iso(o.updatedMs), self_trade_prevention_type: o.stp, exchange_index: 0,
  };
}

/**
 * The `msg` of a `user_order` message (the `user_orders` channel, docs/venues/kalshi.md "User
 * orders"): the order as it stands after a change, whoever made it. Only the current direction
 * fields by default; the deprecated `side`, `is_yes` and `*_time` strings with FieldSet 'both'
 * (or alone, with 'legacy').
 */
export function userOrderJson(o: SimOrder, fields: FieldSet = 'current'): Record<string, unknown> {
  const outcome = o.side === 'bid' ? 'yes' : 'no';
  return {
    order_id: o.orderId, user_id: SIM_USER_ID, ticker: o.ticker, exchange_index: 0, status: o.status,
    ...(fields !== 'current' ? { side: outcome, is_yes: outcome === 'yes', created_time: iso(o.createdMs), last_update_time: iso(o.updatedMs) } : {}),
    ...directionFields(o.side, fields),
    yes_price_dollars: formatDollars(o.price),
    fill_count_fp: formatCount(o.filled), remaining_count_fp: formatCount(o.remaining), initial_count_fp: formatCount(o.initialCount),
    ...costFields(o),
    client_order_id: o.clientOrderId, self_trade_prevention_type: o.stp,
    created_ts_ms: o.createdMs, last_updated_ts_ms: o.updatedMs,
    ...(o.lastUpdateReason ? { last_update_reason: o.lastUpdateReason } : {}),
    subaccount_number: 0,
  };
}

export function fillJson(f: SimFill, fields: FieldSet = 'current'): Record<string, unknown> {
  const bid = f.side === 'bid';
  return {
    fill_id: f.fillId, exchange_index: 0, trade_id: f.tradeId, order_id: f.orderId, client_order_id: f.clientOrderId,
    ticker: f.ticker, market_ticker: f.ticker,
    ...(fields !== 'current' ? { side: bid ? 'yes' : 'no', action: 'buy' } : {}), ...directionFields(f.side, fields),
    count_fp: formatCount(f.count), yes_price_dollars: formatDollars(f.price), no_price_dollars: formatDollars(complement(f.price)),
    is_taker: f.isTaker, created_time: iso(f.tsMs), fee_cost: formatMicros(f.feeMicros), ts: Math.floor(f.tsMs / 1000),
  };
}

export function positionJson(ticker: string, p: Position, lastPrice: number): Record<string, unknown> {
  const held = p.position >= 0 ? lastPrice : complement(lastPrice);
  return {
    ticker, exchange_index: 0, total_traded_dollars: formatMicros(p.traded), position_fp: formatCount(p.position),
    market_exposure_dollars: formatMicros(costMicros(held, Math.abs(p.position))),
    realized_pnl_dollars: formatMicros(p.realized), fees_paid_dollars: formatMicros(p.fees), last_updated_ts: iso(p.updatedMs),
  };
}
