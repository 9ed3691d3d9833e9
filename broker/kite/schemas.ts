import { z } from 'zod';

/**
 * Venue response shapes (docs/venues/kite.md, "REST shapes", from the official mocks). Fields the broker acts on
 * are required; everything else is optional and passed through, because Kite adds fields
 * without notice and a new field must not stop trading. Order ids are strings, always.
 */

const str = z.string();
const optStr = z.string().nullable().optional();
const num = z.number();
const optNum = z.number().nullable().optional();

export const OrderSchema = z.looseObject({
  order_id: str.min(1),
  exchange_order_id: optStr,
  parent_order_id: optStr,
  status: str,
  status_message: optStr,
  status_message_raw: optStr,
  order_timestamp: optStr,
  exchange_update_timestamp: optStr,
  exchange_timestamp: optStr,
  variety: str.optional(),
  exchange: str.optional(),
  tradingsymbol: str.optional(),
  instrument_token: optNum,
  order_type: str.optional(),
  transaction_type: str.optional(),
  validity: str.optional(),
  product: str.optional(),
  quantity: num.optional(),
  disclosed_quantity: optNum,
  price: optNum,
  trigger_price: optNum,
  average_price: optNum,
  filled_quantity: optNum,
  pending_quantity: optNum,
  cancelled_quantity: optNum,
  tag: optStr,
  tags: z.array(str).nullable().optional(),
});
export type KiteOrder = z.infer<typeof OrderSchema>;

export const OrdersSchema = z.array(OrderSchema);
/** GET /orders/:id returns every state the order went through, oldest first. */
export const OrderHistorySchema = z.array(OrderSchema);

export const TradeSchema = z.looseObject({
  trade_id: str,
  order_id: str,
  exchange_order_id: optStr,
  exchange: str.optional(),
  tradingsymbol: str.optional(),
  instrument_token: optNum,
  product: str.optional(),
  transaction_type: str.optional(),
  average_price: num,
  quantity: num,
  fill_timestamp: optStr,
  order_timestamp: optStr,
  exchange_timestamp: optStr,
});
export type KiteTrade = z.infer<typeof TradeSchema>;
export const TradesSchema = z.array(TradeSchema);

export const PositionSchema = z.looseObject({
  tradingsymbol: str,
  exchange: str,
  instrument_token: num,
  product: str,
  quantity: num,
  overnight_quantity: optNum,
  multiplier: optNum,
  average_price: num,
  close_price: optNum,
  last_price: optNum,
  value: optNum,
  pnl: optNum,
  m2m: optNum,
  unrealised: optNum,
  realised: optNum,
  buy_quantity: optNum,
  buy_price: optNum,
  buy_value: optNum,
  sell_quantity: optNum,
  sell_price: optNum,
  sell_value: optNum,
});
export type KitePosition = z.infer<typeof PositionSchema>;
export const PositionsSchema = z.object({ net: z.array(PositionSchema), day: z.array(PositionSchema) });
export type KitePositions = z.infer<typeof PositionsSchema>;

export const HoldingSchema = z.looseObject({
  tradingsymbol: str,
  exchange: str,
  instrument_token: num,
  isin: optStr,
  product: str.optional(),
  quantity: num,
  t1_quantity: optNum,
  average_price: num,
  last_price: optNum,
  pnl: optNum,
});
export type KiteHolding = z.infer<typeof HoldingSchema>;
export const HoldingsSchema = z.array(HoldingSchema);

const MarginSegmentSchema = z.looseObject({
  enabled: z.boolean().optional(),
  net: num,
  available: z.looseObject({ cash: optNum, live_balance: optNum, opening_balance: optNum, collateral: optNum }),
  utilised: z.looseObject({ debits: optNum, exposure: optNum, span: optNum }).optional(),
});
export type KiteMarginSegment = z.infer<typeof MarginSegmentSchema>;
export const MarginsSchema = z.looseObject({ equity: MarginSegmentSchema.optional(), commodity: MarginSegmentSchema.optional() });
export type KiteMargins = z.infer<typeof MarginsSchema>;

const OhlcSchema = z.object({ open: num, high: num, low: num, close: num });
const DepthLevelSchema = z.object({ price: num, quantity: num, orders: num });
export const QuoteItemSchema = z.looseObject({
  instrument_token: num,
  timestamp: optStr,
  last_trade_time: optStr,
  last_price: num,
  last_quantity: optNum,
  buy_quantity: optNum,
  sell_quantity: optNum,
  volume: optNum,
  average_price: optNum,
  oi: optNum,
  net_change: optNum,
  lower_circuit_limit: optNum,
  upper_circuit_limit: optNum,
  ohlc: OhlcSchema,
  depth: z.object({ buy: z.array(DepthLevelSchema), sell: z.array(DepthLevelSchema) }).optional(),
});
export type KiteQuote = z.infer<typeof QuoteItemSchema>;
/** Keyed by "EXCHANGE:SYMBOL"; instruments Kite does not know are simply absent. */
export const QuoteMapSchema = z.record(z.string(), QuoteItemSchema);
export const LtpItemSchema = z.looseObject({ instrument_token: num, last_price: num });
export type KiteLtp = z.infer<typeof LtpItemSchema>;
export const LtpMapSchema = z.record(z.string(), LtpItemSchema);
export const OhlcItemSchema = z.looseObject({ instrument_token: num, last_price: num, ohlc: OhlcSchema });
export type KiteOhlc = z.infer<typeof OhlcItemSchema>;
export const OhlcMapSchema = z.record(z.string(), OhlcItemSchema);

export const OrderResultSchema = z.looseObject({ order_id: str.min(1) });
export type KiteOrderResult = z.infer<typeof OrderResultSchema>;

export const SessionSchema = z.looseObject({
  user_id: str,
  access_token: str.min(1),
  api_key: str.optional(),
  public_token: optStr,
  refresh_token: optStr,
  login_time: optStr,
});
export type KiteSession = z.infer<typeof SessionSchema>;

/**
 * GET /instruments/historical/:instrument_token/:interval (https://kite.trade/docs/connect/v3/historical/):
 * `data.candles` is a list of `[timestamp, open, high, low, close, volume]` with `oi` as a 7th
 * element when asked for; the timestamp carries IST as `+0530` (no colon); prices in rupees.
 */
export const HistoricalCandleSchema = z.union([
  z.tuple([str, num, num, num, num, num]),
  z.tuple([str, num, num, num, num, num, num]),
]);
export const HistoricalSchema = z.looseObject({ candles: z.array(HistoricalCandleSchema) });
export type KiteHistoricalCandle = z.infer<typeof HistoricalCandleSchema>;

export const SuccessEnvelope = <T extends z.ZodType>(data: T) => z.object({ status: z.literal('success'), data });
export const ErrorEnvelopeSchema = z.looseObject({
  status: z.literal('error').optional(),
  message: z.string().optional(),
  error_type: z.string(),
});
