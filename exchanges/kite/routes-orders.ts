/** Order writes and reads. Bodies are form-encoded; the JS client's redundant extras are ignored. */
import { z } from 'zod';
import type { SimContext } from './context.ts';
import { inputError, KiteHttpError } from './errors.ts';
import { ok, validate, type Router, type SimRequest } from './http-kit.ts';
import type { Variety } from './order-wire.ts';
import { parseProtection } from './protection.ts';

const PRODUCTS = ['CNC', 'NRML', 'MIS', 'MTF'] as const;
const ORDER_TYPES = ['MARKET', 'LIMIT', 'SL', 'SL-M'] as const;
const VALIDITIES = ['DAY', 'IOC', 'TTL'] as const;
const VARIETIES = ['regular', 'amo', 'co', 'iceberg', 'auction'] as const;
/** The sim models plain exchange orders; other varieties answer InputException rather than pretend. */
const SUPPORTED_VARIETIES: ReadonlySet<string> = new Set(['regular']);

const money = z.coerce.number().finite().nonnegative();
const count = z.coerce.number().int().nonnegative();

const PlaceBody = z.object({
  exchange: z.enum(['NSE', 'BSE', 'NFO', 'BFO', 'CDS', 'BCD', 'MCX']),
  tradingsymbol: z.string().min(1),
  transaction_type: z.enum(['BUY', 'SELL']),
  order_type: z.enum(ORDER_TYPES),
  quantity: z.coerce.number().int().positive(),
  product: z.enum(PRODUCTS),
  price: money.optional(),
  trigger_price: money.optional(),
  disclosed_quantity: count.optional(),
  validity: z.enum(VALIDITIES).optional(),
  validity_ttl: z.coerce.number().int().positive().optional(),
  tag: z.string().max(20, 'at most 20 characters').regex(/^[A-Za-z0-9]+$/, 'alphanumeric only').optional(),
});

const ModifyBody = z.object({
  order_type: z.enum(ORDER_TYPES).optional(),
  quantity: z.coerce.number().int().positive().optional(),
  price: money.optional(),
  trigger_price: money.optional(),
  disclosed_quantity: count.optional(),
  validity: z.enum(VALIDITIES).optional(),
});

const OrderIdParam = z.object({ order_id: z.string().regex(/^\d{1,19}$/, 'must be a numeric order id') });
const orderIdOf = (req: SimRequest) => validate(OrderIdParam, req.params).order_id;

/**
 * Rupees → paise. A value with more than two decimals stays fractional so the engine, which
 * knows the instrument's grid, refuses it with Kite's tick-size message.
 */
function toPaise(rupees: number | undefined): number | undefined {
  if (rupees === undefined) return undefined;
  const paise = rupees * 100;
  const whole = Math.round(paise);
  return Math.abs(whole - paise) < 1e-6 ? whole : paise;
}

function variety(req: SimRequest): Variety {
  const v = validate(z.object({ variety: z.enum(VARIETIES) }), req.params).variety;
  if (!SUPPORTED_VARIETIES.has(v)) throw inputError(`Invalid \`variety\`: ${v} orders are not supported by the simulator.`);
  return v;
}

export function addOrderRoutes(r: Router, ctx: SimContext): void {
  r.add('POST', '/orders/:variety', { kind: 'api', rate: 'order_place', orderWrite: true }, (req) => {
    const v = variety(req);
    const b = validate(PlaceBody, req.body);
    if (ctx.faults.takeMarginError()) {
      throw new KiteHttpError(400, 'MarginException', 'Insufficient funds. Required margin exceeds available margin (simulated fault).');
    }
    const orderId = ctx.engine.place(
      {
        variety: v,
        exchange: b.exchange,
        tradingsymbol: b.tradingsymbol,
        transactionType: b.transaction_type,
        orderType: b.order_type,
        quantity: b.quantity,
        product: b.product,
        pricePaise: toPaise(b.price) ?? 0,
        triggerPricePaise: toPaise(b.trigger_price) ?? 0,
        disclosedQuantity: b.disclosed_quantity ?? 0,
        validity: b.validity ?? 'DAY',
        validityTtl: b.validity_ttl ?? null,
        marketProtection: parseProtection((req.body as Record<string, unknown>).market_protection),
        tag: b.tag ?? null,
      },
      ctx.faults.takeRejection(),
    );
    return ok({ order_id: orderId });
  });

  r.add('PUT', '/orders/:variety/:order_id', { kind: 'api', rate: 'order_modify', orderWrite: true }, (req) => {
    variety(req);
    const id = orderIdOf(req);
    const b = validate(ModifyBody, req.body);
    return ok({
      order_id: ctx.engine.modify(id, {
        orderType: b.order_type,
        quantity: b.quantity,
        pricePaise: toPaise(b.price),
        triggerPricePaise: toPaise(b.trigger_price),
        disclosedQuantity: b.disclosed_quantity,
        validity: b.validity,
        marketProtection: parseProtection((req.body as Record<string, unknown>).market_protection),
      }),
    });
  });

  r.add('DELETE', '/orders/:variety/:order_id', { kind: 'api', rate: 'order_modify', orderWrite: true }, (req) => {
    variety(req);
    return ok({ order_id: ctx.engine.cancel(orderIdOf(req)) });
  });

  r.add('GET', '/orders', { kind: 'api', rate: 'other' }, () => ok(ctx.engine.list()));
  r.add('GET', '/orders/:order_id', { kind: 'api', rate: 'other' }, (req) => ok(ctx.engine.history(orderIdOf(req))));
  r.add('GET', '/orders/:order_id/trades', { kind: 'api', rate: 'other' }, (req) =>
    ok(ctx.engine.tradesOf(orderIdOf(req))),
  );
  r.add('GET', '/trades', { kind: 'api', rate: 'other' }, () => ok(ctx.engine.tradesOf()));
}
