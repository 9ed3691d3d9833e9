import type { Priority } from '../limiter/types.ts';
import type { KiteRestClient, ModifyOrderParams, PlaceOrderParams, Variety } from './rest-client.ts';
import type { KiteRetry, LookupResult } from './retry.ts';
import type { KiteOrder } from './schemas.ts';

/**
 * Order writes that are safe to repeat. Each write knows how to recognise itself at the venue:
 * a placement by its tag among the day's orders, a modify or cancel by the order's latest state.
 */

const TERMINAL = new Set(['COMPLETE', 'CANCELLED', 'REJECTED']);

export type PlaceOutcome = {
  orderId: string;
  /** 'placed': Kite answered; 'found': an attempt we could not confirm had landed. */
  outcome: 'placed' | 'found';
  attempts: number;
  order?: KiteOrder;
};
export type ChangeOutcome = {
  orderId: string;
  /** 'found': an unconfirmed attempt shows at the venue; 'terminal': the order is done, nothing to change. */
  outcome: 'done' | 'found' | 'terminal';
  attempts: number;
  order?: KiteOrder;
};

type Opts = { variety?: Variety; priority?: Priority; sendAfter?: Promise<void> };

export class KiteOrderWriter {
  constructor(private readonly client: KiteRestClient, private readonly retry: KiteRetry) {}

  /** Places at most one order per tag, however many times the request itself is retried. */
  async placeOrderIdempotent(tag: string, params: Omit<PlaceOrderParams, 'tag'>, o: Opts = {}): Promise<PlaceOutcome> {
    const variety = o.variety ?? 'regular';
    const r = await this.retry.write<{ orderId: string; order?: KiteOrder }>(
      `place ${tag}`,
      async () => ({ orderId: (await this.client.placeOrder(variety, { ...params, tag }, { priority: o.priority ?? 'place', ...(o.sendAfter ? { sendAfter: o.sendAfter } : {}) })).order_id }),
      async () => {
        const match = findByTag(await this.client.getOrders({ priority: 'cancel' }), tag);
        return match ? { found: true, value: { orderId: match.order_id, order: match } } : { found: false };
      },
      { confirmAbsence: true },
    );
    return { orderId: r.value.orderId, outcome: r.outcome === 'done' ? 'placed' : 'found', attempts: r.attempts, ...(r.value.order ? { order: r.value.order } : {}) };
  }

  async modifyOrderSafe(orderId: string, params: ModifyOrderParams, o: Opts = {}): Promise<ChangeOutcome> {
    const variety = o.variety ?? 'regular';
    return this.change(
      `modify ${orderId}`,
      orderId,
      () => this.client.modifyOrder(variety, orderId, params, { priority: o.priority ?? 'modify' }),
      (last) => /^MODIFY /.test(last.status) || modifyApplied(last, params),
    );
  }

  async cancelOrderSafe(orderId: string, o: Opts = {}): Promise<ChangeOutcome> {
    const variety = o.variety ?? 'regular';
    return this.change(
      `cancel ${orderId}`,
      orderId,
      () => this.client.cancelOrder(variety, orderId, { priority: o.priority ?? 'cancel' }),
      (last) => last.status === 'CANCELLED' || last.status === 'CANCEL PENDING',
    );
  }

  private async change(label: string, orderId: string, call: () => Promise<{ order_id: string }>, applied: (last: KiteOrder) => boolean): Promise<ChangeOutcome> {
    let terminal = false;
    const r = await this.retry.write<{ order?: KiteOrder }>(
      label,
      async () => (await call(), {}),
      async (): Promise<LookupResult<{ order?: KiteOrder }>> => {
        const last = (await this.client.getOrderHistory(orderId, { priority: 'cancel' })).at(-1);
        if (!last) return { found: false };
        if (applied(last)) return { found: true, value: { order: last } };
        // Filled or rejected meanwhile: repeating the change cannot succeed and must not be tried.
        if (TERMINAL.has(last.status)) {
          terminal = true;
          return { found: true, value: { order: last } };
        }
        return { found: false };
      },
    );
    const outcome = r.outcome === 'done' ? 'done' : terminal ? 'terminal' : 'found';
    return { orderId, outcome, attempts: r.attempts, ...(r.value.order ? { order: r.value.order } : {}) };
  }
}

export function findByTag(orders: readonly KiteOrder[], tag: string): KiteOrder | undefined {
  const t = tag.toLowerCase();
  return orders.find((o) => o.tag?.toLowerCase() === t || (o.tags ?? []).some((x) => x.toLowerCase() === t));
}

/** Whether the order's current state already carries every field the modify asked for. */
export function modifyApplied(o: KiteOrder, p: ModifyOrderParams): boolean {
  const same = (want: number | string | undefined, have: number | string | null | undefined) => want === undefined || want === have;
  return (
    same(p.quantity, o.quantity) &&
    same(p.price, o.price) &&
    same(p.trigger_price, o.trigger_price) &&
    same(p.order_type, o.order_type) &&
    same(p.validity, o.validity) &&
    same(p.disclosed_quantity, o.disclosed_quantity)
  );
}
