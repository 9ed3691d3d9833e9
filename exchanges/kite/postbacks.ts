/**
 * Order postbacks (Kite's webhook): JSON POST of the order plus user_id, unfilled_quantity,
 * app_id and checksum = sha256(order_id + order_timestamp + api_secret). Best effort: a failed
 * delivery is logged and dropped, as Kite does not promise retries either.
 */
import type { Clock } from '../../actors/clock.ts';
import type { Logger } from '../../actors/logger.ts';
import type { KiteOrderRecord } from './order-wire.ts';
import type { OrderEventKind } from './orders.ts';
import { sha256Hex } from './sessions.ts';

const POSTBACK_KINDS: ReadonlySet<OrderEventKind> = new Set(['COMPLETE', 'CANCELLED', 'REJECTED', 'UPDATE']);
const DELIVERY_TIMEOUT_MS = 5000;
export const SIM_APP_ID = 4242;

/**
 * The push payload shared by postbacks and ticker order frames. Only postbacks carry a real
 * checksum; Kite's WebSocket order frames carry it blank (`apiSecret` undefined here).
 */
export function orderPushPayload(order: KiteOrderRecord, kind: OrderEventKind, userId: string, apiSecret: string | undefined) {
  // Modifications and partial fills are announced as UPDATE (Kite's postback docs).
  const status = kind === 'UPDATE' ? 'UPDATE' : order.status;
  return {
    user_id: userId,
    unfilled_quantity: order.pending_quantity,
    app_id: SIM_APP_ID,
    checksum: apiSecret === undefined ? '' : sha256Hex(order.order_id + order.order_timestamp + apiSecret),
    ...order,
    status,
  };
}

export class PostbackSender {
  private url: string | undefined;
  private readonly inflight = new Set<AbortController>();

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly userId: string,
    private readonly apiSecret: string,
    url: string | undefined,
  ) {
    this.url = url;
  }

  setUrl(url: string | undefined): void {
    this.url = url;
  }

  onOrder(order: KiteOrderRecord, kind: OrderEventKind): void {
    if (!this.url || !POSTBACK_KINDS.has(kind)) return;
    void this.deliver(this.url, orderPushPayload(order, kind, this.userId, this.apiSecret));
  }

  private async deliver(url: string, payload: object): Promise<void> {
    const ac = new AbortController();
    this.inflight.add(ac);
    const timer = this.clock.setTimeout(() => ac.abort(), DELIVERY_TIMEOUT_MS);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: ac.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) this.log.warn({ status: res.status }, 'kite sim postback answered non-2xx');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'kite sim postback delivery failed');
    } finally {
      this.clock.clearTimeout(timer);
      this.inflight.delete(ac);
    }
  }

  close(): void {
    for (const ac of this.inflight) ac.abort();
    this.inflight.clear();
  }
}
