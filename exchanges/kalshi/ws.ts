import { WebSocketServer, WebSocket } from 'ws';
import type { Clock, TimerHandle } from '../../actors/clock.ts';
import { complement, formatCount, formatMicros, formatPrice as formatDollars } from './units.ts';
import type { BookChange, SimEngine, SimFill, SimOrder, SimTrade } from './engine.ts';
import type { FaultState } from './faults.ts';
import { directionFields, userOrderJson, type FieldSet } from './wire.ts';

/** Kalshi sends a WS ping with payload "heartbeat" every 10 s. */
export const PING_EVERY_MS = 10_000;
const CHANNELS = new Set(['orderbook_delta', 'ticker', 'trade', 'fill', 'user_orders']);
/** Errors that end a live subscription; the client must subscribe again (docs/venues/kalshi.md). */
export const TERMINAL_ERRORS: Readonly<Record<number, string>> = { 10: 'Channel error', 25: 'Subscription buffer overflow' };

type Sub = { sid: number; channel: string; tickers: Set<string> | 'all'; seq: number };
/** `stallUntil`: a stall hits the sockets open when it is injected, not later reconnects. */
type Conn = { ws: WebSocket; subs: Map<number, Sub>; held: string[]; stallUntil: number };
type Cmd = { id?: number; cmd?: string; params?: Record<string, unknown> };

/**
 * The exchange's WebSocket v2 side: subscribe / unsubscribe / update_subscription with ids,
 * orderbook snapshot then deltas with one seq counter per sid, ticker, trade and fill pushes, and
 * `user_order` on the `user_orders` channel for every change of one of the account's orders,
 * made through any client (docs/venues/kalshi.md, "User orders").
 * Message shapes follow Kalshi's AsyncAPI document (test/fixtures/kalshi-asyncapi/): `seq` on
 * the sequenced channels (orderbook, trade, acks of a sid), none on ticker, fill and user_order; a
 * `get_snapshot` is answered by the snapshot itself carrying the command id, with no `ok`.
 */
export class SimWs {
  readonly wss = new WebSocketServer({ noServer: true });
  private readonly conns = new Set<Conn>();
  private nextSid = 1;
  private readonly pinger: TimerHandle;
  private flushTimer: TimerHandle | undefined;

  constructor(private readonly engine: SimEngine, private readonly clock: Clock, private readonly faults: FaultState, private readonly fields: FieldSet = 'current') {
    this.wss.on('connection', (ws) => this.accept(ws));
    engine.on('book', (c) => this.onBook(c));
    engine.on('trade', (t) => this.onTrade(t));
    engine.on('fill', (f) => this.onFill(f));
    engine.on('order', (o) => this.onUserOrder(o));
    this.pinger = clock.setInterval(() => {
      for (const c of this.conns) if (!this.stalled(c) && c.ws.readyState === WebSocket.OPEN) c.ws.ping('heartbeat');
    }, PING_EVERY_MS);
  }

  connections(): number {
    return this.conns.size;
  }

  drop(): void {
    for (const c of this.conns) c.ws.terminate();
  }

  stall(ms: number): void {
    const until = this.clock.now() + ms;
    for (const c of this.conns) c.stallUntil = until;
    this.clock.clearTimeout(this.flushTimer);
    this.flushTimer = this.clock.setTimeout(() => this.flushAll(), ms);
  }

  /** A terminal error on every live orderbook subscription: the server drops them and says so. */
  failSubscriptions(code: number): void {
    const text = TERMINAL_ERRORS[code];
    if (!text) throw new RangeError(`not a terminal subscription error: ${code}`);
    for (const c of this.conns) {
      for (const sub of [...c.subs.values()]) {
        if (sub.channel !== 'orderbook_delta') continue;
        c.subs.delete(sub.sid);
        this.send(c, { type: 'error', sid: sub.sid, seq: ++sub.seq, msg: { code, msg: text } });
      }
    }
  }

  private stalled(c: Conn): boolean {
    return this.clock.now() < c.stallUntil;
  }

  close(): void {
    this.clock.clearInterval(this.pinger);
    this.clock.clearTimeout(this.flushTimer);
    for (const c of this.conns) c.ws.terminate();
    this.wss.close();
  }

  private accept(ws: WebSocket): void {
    const conn: Conn = { ws, subs: new Map(), held: [], stallUntil: 0 };
    this.conns.add(conn);
    ws.on('close', () => this.conns.delete(conn));
    ws.on('error', () => ws.terminate());
    ws.on('message', (data) => {
      let cmd: Cmd;
      try {
        cmd = JSON.parse(String(data)) as Cmd;
      } catch {
        return this.send(conn, { id: 0, type: 'error', msg: { code: 1, msg: 'Unable to process message' } });
      }
      this.command(conn, cmd);
    });
  }

  private command(conn: Conn, c: Cmd): void {
    const id = c.id ?? 0;
    const p = c.params ?? {};
    const fail = (code: number, msg: string) => this.send(conn, { id, type: 'error', msg: { code, msg } });
    const tickersOf = (): string[] | undefined => {
      if (Array.isArray(p.market_tickers)) return p.market_tickers.map(String);
      if (typeof p.market_ticker === 'string') return [p.market_ticker];
      return undefined;
    };
    switch (c.cmd) {
      case 'subscribe': {
        const channels = Array.isArray(p.channels) ? p.channels.map(String) : [];
        if (channels.length === 0) return fail(3, 'Channels required');
        const bad = channels.find((ch) => !CHANNELS.has(ch));
        if (bad) return fail(8, 'Unknown channel name');
        const tickers = tickersOf();
        const unknown = tickers?.filter((t) => !this.engine.markets.has(t)) ?? [];
        // Code 16 (market not found) is retired; an unknown ticker is an invalid parameter.
        if (unknown.length) return this.send(conn, { id, type: 'error', msg: { code: 11, msg: 'Invalid parameter', market_tickers: unknown } });
        for (const channel of channels) {
          if (channel === 'orderbook_delta' && !tickers) return fail(14, 'Market Ticker required');
          const sub: Sub = { sid: this.nextSid++, channel, tickers: tickers ? new Set(tickers) : 'all', seq: 0 };
          conn.subs.set(sub.sid, sub);
          this.send(conn, { id, type: 'subscribed', msg: { channel, sid: sub.sid } });
          if (channel === 'orderbook_delta') for (const t of tickers ?? []) this.snapshot(conn, sub, t);
        }
        return;
      }
      case 'unsubscribe': {
        const sids = Array.isArray(p.sids) ? p.sids.map(Number) : [];
        if (sids.length === 0) return fail(4, 'Subscription IDs required');
        for (const sid of sids) {
          const sub = conn.subs.get(sid);
          if (!sub) return fail(7, 'Unknown subscription ID');
          conn.subs.delete(sid);
          this.send(conn, { id, sid, seq: ++sub.seq, type: 'unsubscribed' });
        }
        return;
      }
      case 'update_subscription': {
        const sids = Array.isArray(p.sids) ? p.sids.map(Number) : typeof p.sid === 'number' ? [p.sid] : [];
        if (sids.length !== 1) return fail(12, 'Exactly one subscription ID is required');
        const sub = conn.subs.get(sids[0]!);
        if (!sub) return fail(7, 'Unknown subscription ID');
        const tickers = tickersOf();
        const action = p.action;
        if (typeof action !== 'string') return fail(15, 'Action required');
        if (action === 'add_markets' || action === 'delete_markets') {
          if (!tickers) return fail(14, 'Market Ticker required');
          const unknownAdd = tickers.filter((t) => !this.engine.markets.has(t));
          if (unknownAdd.length) return this.send(conn, { id, type: 'error', msg: { code: 11, msg: 'Invalid parameter', market_tickers: unknownAdd } });
          if (sub.tickers === 'all') return fail(11, 'Invalid parameter');
          for (const t of tickers) (action === 'add_markets' ? sub.tickers.add(t) : sub.tickers.delete(t));
          this.send(conn, { id, sid: sub.sid, seq: ++sub.seq, type: 'ok', msg: { market_tickers: [...sub.tickers] } });
          if (action === 'add_markets' && sub.channel === 'orderbook_delta') for (const t of tickers) this.snapshot(conn, sub, t);
          return;
        }
        if (action === 'get_snapshot') {
          if (sub.channel !== 'orderbook_delta' || sub.tickers === 'all') return fail(13, 'Unsupported action');
          // Answered by the snapshots themselves, each carrying the command id; no `ok`.
          const want = (tickers ?? [...sub.tickers]).filter((t) => (sub.tickers as Set<string>).has(t));
          for (const t of want) this.snapshot(conn, sub, t, id);
          return;
        }
        return fail(13, 'Unsupported action');
      }
      case 'list_subscriptions':
        return this.send(conn, { id, type: 'ok', msg: [...conn.subs.values()].map((s) => ({ channel: s.channel, sid: s.sid })) });
      default:
        return fail(5, 'Unknown command');
    }
  }

  private snapshot(conn: Conn, sub: Sub, ticker: string, id?: number): void {
    const lv = this.engine.levels(ticker);
    const fmt = (l: Array<[number, number]>) => l.map(([p, c]) => [formatDollars(p), formatCount(c)]);
    this.send(conn, {
      type: 'orderbook_snapshot', ...(id ? { id } : {}), sid: sub.sid, seq: ++sub.seq,
      msg: { market_ticker: ticker, market_id: this.marketId(ticker), yes_dollars_fp: fmt(lv.yes), no_dollars_fp: fmt(lv.no) },
    });
  }

  private marketId(ticker: string): string {
    return this.engine.markets.get(ticker)?.id ?? ticker;
  }

  private subsFor(channel: string, ticker?: string): Array<[Conn, Sub]> {
    const out: Array<[Conn, Sub]> = [];
    for (const conn of this.conns) {
      for (const s of conn.subs.values()) {
        if (s.channel === channel && (s.tickers === 'all' || ticker === undefined || s.tickers.has(ticker))) out.push([conn, s]);
      }
    }
    return out;
  }

  private onBook(c: BookChange): void {
    const now = this.clock.now();
    for (const [conn, sub] of this.subsFor('orderbook_delta', c.ticker)) {
      if (this.faults.takeSkip()) sub.seq++; // a message that "got lost"
      const msg: Record<string, unknown> = {
        market_ticker: c.ticker, market_id: this.marketId(c.ticker), price_dollars: formatDollars(c.price), delta_fp: formatCount(c.delta),
        side: c.side, ts: new Date(now).toISOString(), ts_ms: now,
      };
      if (c.clientOrderId) msg.client_order_id = c.clientOrderId;
      this.send(conn, { type: 'orderbook_delta', sid: sub.sid, seq: ++sub.seq, msg });
    }
    this.onTicker(c.ticker);
  }

  private onTicker(ticker: string): void {
    const subs = this.subsFor('ticker', ticker);
    if (subs.length === 0) return;
    const m = this.engine.markets.get(ticker)!;
    const top = this.engine.top(ticker);
    const now = this.clock.now();
    for (const [conn, sub] of subs) {
      this.send(conn, {
        type: 'ticker', sid: sub.sid,
        msg: {
          market_ticker: ticker, market_id: this.marketId(ticker), price_dollars: formatDollars(m.lastPrice),
          yes_bid_dollars: formatDollars(top.bid?.[0] ?? 0), yes_ask_dollars: formatDollars(top.ask?.[0] ?? 10_000),
          yes_bid_size_fp: formatCount(top.bid?.[1] ?? 0), yes_ask_size_fp: formatCount(top.ask?.[1] ?? 0),
          volume_fp: formatCount(m.volume), open_interest_fp: '0.00', last_trade_size_fp: formatCount(m.lastTradeSize ?? 0),
          dollar_volume: Math.floor((m.tradedMicros ?? 0) / 1_000_000), dollar_open_interest: 0,
          ts: Math.floor(now / 1000), ts_ms: now, time: new Date(now).toISOString(),
        },
      });
    }
  }

  private onTrade(t: SimTrade): void {
    const takerBookSide = t.takerSide === 'yes' ? 'bid' : 'ask';
    for (const [conn, sub] of this.subsFor('trade', t.ticker)) {
      this.send(conn, {
        type: 'trade', sid: sub.sid, seq: ++sub.seq,
        msg: {
          trade_id: t.tradeId, market_ticker: t.ticker, yes_price_dollars: formatDollars(t.price), no_price_dollars: formatDollars(complement(t.price)),
          count_fp: formatCount(t.count), ...(this.fields !== 'current' ? { taker_side: t.takerSide } : {}),
          ...directionFields(takerBookSide, this.fields, 'taker_'), is_block_trade: false, ts: Math.floor(t.tsMs / 1000), ts_ms: t.tsMs,
        },
      });
    }
  }

  private onFill(f: SimFill): void {
    const outcome = f.side === 'bid' ? 'yes' : 'no';
    for (const [conn, sub] of this.subsFor('fill', f.ticker)) {
      this.send(conn, {
        type: 'fill', sid: sub.sid,
        msg: {
          trade_id: f.tradeId, order_id: f.orderId, market_ticker: f.ticker, exchange_index: 0, is_taker: f.isTaker,
          ...(this.fields !== 'current' ? { side: outcome, action: 'buy', purchased_side: outcome } : {}), ...directionFields(f.side, this.fields),
          yes_price_dollars: formatDollars(f.price), count_fp: formatCount(f.count), fee_cost: formatMicros(f.feeMicros),
          ts: Math.floor(f.tsMs / 1000), ts_ms: f.tsMs, post_position_fp: formatCount(f.postPosition), client_order_id: f.clientOrderId, subaccount: 0,
        },
      });
    }
  }

  /** No `seq`: the document's userOrderPayload has none (like fill). */
  private onUserOrder(o: SimOrder): void {
    for (const [conn, sub] of this.subsFor('user_orders', o.ticker)) {
      this.send(conn, { type: 'user_order', sid: sub.sid, msg: userOrderJson(o, this.fields) });
    }
  }

  private send(conn: Conn, msg: unknown): void {
    const text = JSON.stringify(msg);
    if (this.stalled(conn)) {
      conn.held.push(text);
      return;
    }
    this.flush(conn);
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(text);
  }

  private flush(conn: Conn): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    for (const t of conn.held.splice(0)) conn.ws.send(t);
  }

  private flushAll(): void {
    for (const c of this.conns) this.flush(c);
  }
}
