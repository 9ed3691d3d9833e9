import { WebSocketServer, WebSocket } from 'ws';
import type { Clock, TimerHandle } from '../../actors/clock.ts';
import { formatCount, formatDollars } from '../../broker/kalshi/fixed.ts';
import type { BookChange, SimEngine, SimFill, SimTrade } from './engine.ts';
import type { FaultState } from './faults.ts';

/** Kalshi sends a WS ping with payload "heartbeat" every 10 s. */
export const PING_EVERY_MS = 10_000;
const CHANNELS = new Set(['orderbook_delta', 'ticker', 'trade', 'fill']);

type Sub = { sid: number; channel: string; tickers: Set<string> | 'all'; seq: number };
/** `stallUntil`: a stall hits the sockets open when it is injected, not later reconnects. */
type Conn = { ws: WebSocket; subs: Map<number, Sub>; held: string[]; stallUntil: number };
type Cmd = { id?: number; cmd?: string; params?: Record<string, unknown> };

/**
 * The exchange's WebSocket v2 side: subscribe / unsubscribe / update_subscription with ids,
 * orderbook snapshot then deltas with one seq counter per sid, ticker, trade and fill pushes.
 */
export class SimWs {
  readonly wss = new WebSocketServer({ noServer: true });
  private readonly conns = new Set<Conn>();
  private nextSid = 1;
  private readonly pinger: TimerHandle;
  private flushTimer: TimerHandle | undefined;

  constructor(private readonly engine: SimEngine, private readonly clock: Clock, private readonly faults: FaultState) {
    this.wss.on('connection', (ws) => this.accept(ws));
    engine.on('book', (c) => this.onBook(c));
    engine.on('trade', (t) => this.onTrade(t));
    engine.on('fill', (f) => this.onFill(f));
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
        if (tickers?.some((t) => !this.engine.markets.has(t))) return fail(16, 'Market not found');
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
          if (tickers.some((t) => !this.engine.markets.has(t))) return fail(16, 'Market not found');
          if (sub.tickers === 'all') return fail(11, 'Invalid parameter');
          for (const t of tickers) (action === 'add_markets' ? sub.tickers.add(t) : sub.tickers.delete(t));
          this.send(conn, { id, sid: sub.sid, seq: ++sub.seq, type: 'ok', msg: { market_tickers: [...sub.tickers] } });
          if (action === 'add_markets' && sub.channel === 'orderbook_delta') for (const t of tickers) this.snapshot(conn, sub, t);
          return;
        }
        if (action === 'get_snapshot') {
          if (sub.channel !== 'orderbook_delta' || sub.tickers === 'all') return fail(13, 'Unsupported action');
          const want = (tickers ?? [...sub.tickers]).filter((t) => (sub.tickers as Set<string>).has(t));
          this.send(conn, { id, sid: sub.sid, seq: ++sub.seq, type: 'ok', msg: { market_tickers: want } });
          for (const t of want) this.snapshot(conn, sub, t);
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

  private snapshot(conn: Conn, sub: Sub, ticker: string): void {
    const lv = this.engine.levels(ticker);
    const fmt = (l: Array<[number, number]>) => l.map(([p, c]) => [formatDollars(p), formatCount(c)]);
    this.send(conn, {
      type: 'orderbook_snapshot', sid: sub.sid, seq: ++sub.seq,
      msg: { market_ticker: ticker, market_id: ticker, yes_dollars_fp: fmt(lv.yes), no_dollars_fp: fmt(lv.no) },
    });
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
        market_ticker: c.ticker, market_id: c.ticker, price_dollars: formatDollars(c.price), delta_fp: formatCount(c.delta),
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
          market_ticker: ticker, market_id: ticker, price_dollars: formatDollars(m.lastPrice),
          yes_bid_dollars: formatDollars(top.bid?.[0] ?? 0), yes_ask_dollars: formatDollars(top.ask?.[0] ?? 10_000),
          yes_bid_size_fp: formatCount(top.bid?.[1] ?? 0), yes_ask_size_fp: formatCount(top.ask?.[1] ?? 0),
          volume_fp: formatCount(m.volume), open_interest_fp: '0.00', ts: Math.floor(now / 1000), ts_ms: now,
        },
      });
    }
  }

  private onTrade(t: SimTrade): void {
    for (const [conn, sub] of this.subsFor('trade', t.ticker)) {
      this.send(conn, {
        type: 'trade', sid: sub.sid,
        msg: {
          trade_id: t.tradeId, market_ticker: t.ticker, yes_price_dollars: formatDollars(t.price), no_price_dollars: formatDollars(10_000 - t.price),
          count_fp: formatCount(t.count), taker_side: t.takerSide, ts: Math.floor(t.tsMs / 1000), ts_ms: t.tsMs,
        },
      });
    }
  }

  private onFill(f: SimFill): void {
    for (const [conn, sub] of this.subsFor('fill', f.ticker)) {
      this.send(conn, {
        type: 'fill', sid: sub.sid,
        msg: {
          trade_id: f.tradeId, order_id: f.orderId, market_ticker: f.ticker, is_taker: f.isTaker,
          side: f.side === 'bid' ? 'yes' : 'no', action: 'buy', yes_price_dollars: formatDollars(f.price), count_fp: formatCount(f.count),
          ts: Math.floor(f.tsMs / 1000), ts_ms: f.tsMs, post_position_fp: formatCount(f.postPosition), client_order_id: f.clientOrderId, subaccount: 0,
        },
      });
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
