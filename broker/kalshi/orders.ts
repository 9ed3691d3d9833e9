import type { Clock } from '../../actors/clock.ts';
import type { Logger } from '../../actors/logger.ts';
import { VenueError, type ErrorKind } from '../venue-errors.ts';
import { nextBackoff } from '../connection/backoff.ts';
import type { KalshiRest, NewOrder } from './rest.ts';
import type { KalshiOrder } from './schemas.ts';

export type PlaceResult = {
  orderId: string;
  clientOrderId: string;
  filledCount: number;
  remainingCount: number;
  /** true when the order was found by client_order_id after an ambiguous failure */
  recovered: boolean;
};

/**
 * Failures after which the order may be at the exchange: no answer, an answer we could not
 * read, a 5xx from somewhere between us and the matching engine, or "already exists".
 */
const MAYBE_LANDED: ReadonlySet<ErrorKind> = new Set(['Timeout', 'Conflict', 'ServerError', 'GatewayError', 'GeneralException']);

export type PlaceOptions = {
  clock: Clock;
  logger: Logger;
  random?: () => number;
  /** total create attempts, the first included */
  maxAttempts?: number;
  /** give the exchange a moment to finish a write we stopped waiting for before we look */
  lookupDelayMs?: number;
};

/**
 * Places an order so that it lands at most once. client_order_id carries the intent id, so
 * an ambiguous failure is resolved by looking the order up; only an order the exchange does
 * not know is sent again, under the same client_order_id (a duplicate then gets a 409).
 */
export async function placeOrderOnce(rest: KalshiRest, order: NewOrder, opts: PlaceOptions): Promise<PlaceResult> {
  const maxAttempts = opts.maxAttempts ?? 3;
  const random = opts.random ?? Math.random;
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await rest.createOrder(order);
      return {
        orderId: r.order_id,
        clientOrderId: r.client_order_id ?? order.clientOrderId,
        filledCount: r.fill_count,
        remainingCount: r.remaining_count,
        recovered: false,
      };
    } catch (e) {
      if (!(e instanceof VenueError)) throw e;
      const last = attempt + 1 >= maxAttempts;
      if (e.kind === 'ConnectionError' && !last) {
        await opts.clock.sleep(nextBackoff(attempt, random));
        continue; // refused: the request never left this host
      }
      if (!MAYBE_LANDED.has(e.kind)) throw e;
      opts.logger.warn({ venue: 'kalshi', clientOrderId: order.clientOrderId, kind: e.kind, attempt }, 'kalshi create ambiguous: looking the order up before any retry');
      if (opts.lookupDelayMs ?? 250) await opts.clock.sleep(opts.lookupDelayMs ?? 250);
      const found = await findByClientOrderId(rest, order.ticker, order.clientOrderId);
      if (found) {
        return {
          orderId: found.orderId,
          clientOrderId: found.clientOrderId,
          filledCount: found.filledCount,
          remainingCount: found.remainingCount,
          recovered: true,
        };
      }
      if (e.kind === 'Conflict' || last) throw e;
      await opts.clock.sleep(nextBackoff(attempt, random));
    }
  }
}

export async function findByClientOrderId(rest: KalshiRest, ticker: string, clientOrderId: string): Promise<KalshiOrder | undefined> {
  const orders = await rest.getAllOrders({ ticker });
  return orders.find((o) => o.clientOrderId === clientOrderId);
}
