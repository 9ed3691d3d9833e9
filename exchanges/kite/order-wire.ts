/** The internal order record and its Kite wire shape (field order as in Kite's own payloads). */
import type { Product } from './positions.ts';
import { istDateTime } from './time.ts';

export type OrderStatus =
  | 'PUT ORDER REQ RECEIVED' | 'VALIDATION PENDING' | 'OPEN PENDING' | 'OPEN' | 'TRIGGER PENDING'
  | 'MODIFY VALIDATION PENDING' | 'MODIFY PENDING' | 'MODIFIED' | 'CANCEL PENDING'
  | 'COMPLETE' | 'CANCELLED' | 'REJECTED';

export const TERMINAL: ReadonlySet<OrderStatus> = new Set(['COMPLETE', 'CANCELLED', 'REJECTED']);

export type Variety = 'regular' | 'amo' | 'co' | 'iceberg' | 'auction';
export type OrderType = 'MARKET' | 'LIMIT' | 'SL' | 'SL-M';
export type Side = 'BUY' | 'SELL';
export type Validity = 'DAY' | 'IOC' | 'TTL';

export type SimOrder = {
  orderId: string;
  exchangeOrderId: string | null;
  placedBy: string;
  variety: Variety;
  exchange: string;
  tradingsymbol: string;
  instrumentToken: number;
  transactionType: Side;
  orderType: OrderType;
  product: Product;
  validity: Validity;
  validityTtl: number | null;
  quantity: number;
  disclosedQuantity: number;
  pricePaise: number;
  triggerPricePaise: number;
  marketProtection: number;
  filledQuantity: number;
  filledValuePaise: number;
  cancelledQuantity: number;
  status: OrderStatus;
  statusMessage: string | null;
  statusMessageRaw: string | null;
  orderMs: number;
  exchangeMs: number | null;
  exchangeUpdateMs: number | null;
  modified: boolean;
  modifications: number;
  tag: string | null;
  guid: string;
  /**
   * Every state the order went through, oldest first: GET /orders/:id. Kept as the record's
   * fields and put in wire form only when asked, so a change costs a copy, not a formatting.
   */
  history: OrderFields[];
};

/** An order's fields at one moment, without its history. */
export type OrderFields = Omit<SimOrder, 'history'>;

const rupees = (paise: number) => Math.round(paise) / 100;

export function orderWire(o: OrderFields) {
  const terminal = TERMINAL.has(o.status);
  return {
    placed_by: o.placedBy,
    order_id: o.orderId,
    exchange_order_id: o.exchangeOrderId,
    parent_order_id: null as string | null,
    status: o.status as string,
    status_message: o.statusMessage,
    status_message_raw: o.statusMessageRaw,
    order_timestamp: istDateTime(o.orderMs),
    exchange_update_timestamp: o.exchangeUpdateMs === null ? null : istDateTime(o.exchangeUpdateMs),
    exchange_timestamp: o.exchangeMs === null ? null : istDateTime(o.exchangeMs),
    variety: o.variety,
    modified: o.modified,
    exchange: o.exchange,
    tradingsymbol: o.tradingsymbol,
    instrument_token: o.instrumentToken,
    order_type: o.orderType,
    transaction_type: o.transactionType,
    validity: o.validity,
    validity_ttl: o.validityTtl ?? 0,
    product: o.product,
    quantity: o.quantity,
    disclosed_quantity: o.disclosedQuantity,
    price: rupees(o.pricePaise),
    trigger_price: rupees(o.triggerPricePaise),
    average_price: o.filledQuantity ? Math.round((o.filledValuePaise / o.filledQuantity) * 100) / 1e4 : 0,
    filled_quantity: o.filledQuantity,
    pending_quantity: terminal ? 0 : o.quantity - o.filledQuantity,
    cancelled_quantity: o.cancelledQuantity,
    market_protection: o.marketProtection,
    meta: {} as Record<string, unknown>,
    tag: o.tag,
    tags: o.tag ? [o.tag] : ([] as string[]),
    guid: o.guid,
  };
}

export type KiteOrderRecord = ReturnType<typeof orderWire>;

export type KiteTradeRecord = {
  trade_id: string;
  order_id: string;
  exchange: string;
  tradingsymbol: string;
  instrument_token: number;
  product: string;
  average_price: number;
  quantity: number;
  exchange_order_id: string | null;
  transaction_type: Side;
  fill_timestamp: string;
  /** Time only ("HH:MM:SS"), as Kite sends it on trades. */
  order_timestamp: string;
  exchange_timestamp: string;
};
