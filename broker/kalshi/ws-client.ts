import WebSocket from 'ws';
import type { Clock, TimerHandle } from '../../actors/clock.ts';
import type { Logger } from '../../actors/logger.ts';
import { authHeaders, type KalshiCredentials } from './signing.ts';
import { LocalBook, checkSeq } from './book.ts';
import {
  ServerMessage, type Channel, type Command,
  type BookUpdate, type TickerUpdate, type TradeUpdate, type FillUpdate, type OrderPush, type WsStatus,
} from './ws-protocol.ts';
import { TypedEmitter } from '../connection/emitter.ts';
import { initialPhase, step, type ConnPhase, type DisconnectReason, type Effect, type Input, type Timing } from '../connection/reconnect.ts';
import { assertNever } from '../../actors/assert-never.ts';

export type { BookUpdate, TickerUpdate, TradeUpdate, FillUpdate, OrderPush, WsStatus } from './ws-protocol.ts';
import { metrics } from './ratelimit.ts';

export type KalshiWsEvents = {
  book: [BookUpdate];
  ticker: [TickerUpdate];
  trade: [TradeUpdate];
  fill: [FillUpdate];
  /** a change of one of the account's orders, by any client (the `user_orders` channel) */
  order: [OrderPush];
  /** step 2 of the reconnect protocol: stop submitting */
  disconnected: [{ reason: string; atMs: number }];
  /** step 6: socket back and every referenced subscription re-established */
  reconnected: [{ attempts: number; downtimeMs: number }];
  /** step 7: positions and open orders must be reconciled over REST (also after a lost fill or user_orders subscription) */
  reconcile: [{ reason: 'reconnect' | 'subscription_lost' }];
  /** a book thrown away until a fresh snapshot: a sequence gap, a negative level, or a terminal subscription error */
  resync: [{ sid: number; tickers: string[]; reason: ResyncReason }];
};

export type ResyncReason = 'gap' | 'negative' | 'channel_error' | 'buffer_overflow';

/** Kalshi pings every 10 s with payload "heartbeat" (docs/venues/kalshi.md, "WebSocket"). */
export const KALSHI_PING_INTERVAL_MS = 10_000;
/**
 * No frame for one ping interval plus this grace, and the socket counts as dead. A wider
 * window (25 s) let a stalled socket go unnoticed for two missed heartbeats.
 */
export const STALE_GRACE_MS = 1_000;
export const DEFAULT_STALE_MS = KALSHI_PING_INTERVAL_MS + STALE_GRACE_MS;

/**
 * Errors on a live sid after which the subscription is gone and must be made again
 * (docs/venues/kalshi.md, "Terminal subscription errors"): 10 channel error, 25 buffer
 * overflow (messages were dropped: the book is lost), and 17, retired but terminal when it was
 * still sent.
 */
export const TERMINAL_ERROR_CODES: ReadonlyMap<number, ResyncReason> = new Map([[10, 'channel_error'], [17, 'channel_error'], [25, 'buffer_overflow']]);

export type KalshiWsOptions = {
  /** wss://…/trade-api/ws/v2 — the path is part of what is signed */
  url: string;
  credentials: KalshiCredentials;
  clock: Clock;
  logger: Logger;
  random?: () => number;
  /** This much silence (no frame, no ping) means the socket is dead; default one heartbeat + 1 s. */
  staleMs?: number;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
};

type ChannelState = { sid: number | undefined; active: Set<string>; chain: Promise<void> };
type Pending = { resolve: (m: ServerMessage) => void; reject: (e: Error) => void; timer: TimerHandle };
const ALL = '*';

/**
 * Kalshi WebSocket v2: signed handshake, reference-counted subscriptions (one sid per channel,
 * grown and shrunk with update_subscription), local books from snapshot + deltas with a
 * per-sid sequence check, heartbeat watchdog, and the eight-step reconnect protocol, which is
 * the connection kit's state machine (broker/connection/reconnect.ts): this class feeds it the
 * socket's events and carries out its effects. The first connect is the caller's: if it fails,
 * `connect()` rejects (nothing was ever up to reconnect to).
 */
export class KalshiWs extends TypedEmitter<KalshiWsEvents> {
  private ws: WebSocket | undefined;
  /** undefined until `connect()`. */
  private phase: ConnPhase | undefined;
  /** Bumped whenever a socket is dropped: callbacks of an older socket change nothing. */
  private generation = 0;
  private retry: TimerHandle | undefined;
  private first: { resolve: () => void; reject: (e: Error) => void } | undefined;
  /** The error that ended the first connect, for its caller. */
  private firstError: Error | undefined;
  private readonly timing: Timing;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly refs = new Map<string, number>();
  private readonly channels = new Map<Channel, ChannelState>();
  private readonly books = new Map<string, LocalBook>();
  private readonly synced = new Set<string>();
  private readonly lastSeq = new Map<number, number>();
  private readonly resyncing = new Set<number>();
  private watchdog: TimerHandle | undefined;
  private readonly random: () => number;
  private readonly staleMs: number;

  constructor(private readonly opts: KalshiWsOptions) {
    super((event, err) => opts.logger.error({ venue: 'kalshi', event, err }, 'a kalshi ws listener threw'));
    this.random = opts.random ?? Math.random;
    this.staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
    // Kalshi's book updates come when the book changes: a quiet market is no outage, only a quiet socket (no ping) is.
    this.timing = { silentMs: this.staleMs, staleMs: Number.POSITIVE_INFINITY, connectTimeoutMs: opts.connectTimeoutMs ?? 10_000 };
  }

  get status(): WsStatus {
    const p = this.phase;
    if (!p) return 'idle';
    switch (p.kind) {
      case 'closed':
        return 'closed';
      case 'open':
        return 'live';
      case 'disconnected':
        return 'disconnected';
      case 'connecting':
      case 'resubscribing':
        return p.downSince === null ? 'connecting' : 'disconnected';
      default:
        return assertNever(p);
    }
  }

  /** Opens the socket and makes every subscription asked for so far; rejects if that first connect fails. */
  connect(): Promise<void> {
    if (this.phase) return Promise.reject(new Error(`kalshi ws: connect() when ${this.status}`));
    return new Promise((resolve, reject) => {
      this.first = { resolve, reject };
      const s = initialPhase(this.opts.clock.now());
      this.phase = s.state;
      this.watchdog = this.opts.clock.setInterval(() => this.feed({ type: 'check', marketOpen: false, hasSubscriptions: false }), Math.min(1_000, this.staleMs / 4));
      this.run(s.effects);
    });
  }

  async close(): Promise<void> {
    this.opts.clock.clearInterval(this.watchdog);
    this.watchdog = undefined;
    if (this.phase) this.feed({ type: 'close' });
    this.phase = { kind: 'closed' };
    this.teardown(new Error('closed'));
    this.first?.reject(new Error('kalshi ws: closed before the first connect'));
    this.first = undefined;
  }

  /** Reference-counted: the first reference subscribes, later ones only count. `ticker` omitted = all markets (fill). */
  subscribe(channel: Channel, ticker: string = ALL): Promise<void> {
    const key = `${channel}|${ticker}`;
    const n = (this.refs.get(key) ?? 0) + 1;
    this.refs.set(key, n);
    return n === 1 ? this.sync(channel) : Promise.resolve();
  }

  unsubscribe(channel: Channel, ticker: string = ALL): Promise<void> {
    const key = `${channel}|${ticker}`;
    const n = (this.refs.get(key) ?? 0) - 1;
    if (n > 0) {
      this.refs.set(key, n);
      return Promise.resolve();
    }
    this.refs.delete(key);
    if (channel === 'orderbook_delta') {
      this.books.delete(ticker);
      this.synced.delete(ticker);
    }
    return this.sync(channel);
  }

  book(ticker: string): LocalBook | undefined {
    return this.synced.has(ticker) ? this.books.get(ticker) : undefined;
  }

  // ---- connection ------------------------------------------------------------------------
  private feed(input: Input): void {
    if (!this.phase) return;
    const s = step(this.phase, input, this.opts.clock.now(), this.random, this.timing);
    if (this.first && s.state.kind === 'disconnected') {
      // The first connect failed: the caller hears it; there is nothing to reconnect to yet.
      const reason = s.state.reason;
      this.phase = { kind: 'closed' };
      this.opts.clock.clearInterval(this.watchdog);
      this.watchdog = undefined;
      this.teardown(new Error(`kalshi ws: first connect failed (${reason})`));
      const first = this.first;
      this.first = undefined;
      first.reject(this.firstError ?? new Error(`kalshi ws: connect failed (${reason === 'connect_timeout' ? 'connect timed out' : reason})`));
      return;
    }
    this.phase = s.state;
    this.run(s.effects);
  }

  private run(effects: readonly Effect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'open_socket':
          this.openSocket();
          break;
        case 'close_socket':
          this.teardown(new Error('kalshi ws: socket lost'));
          break;
        case 'emit_disconnected': {
          metrics().wsConnected.set({ venue: 'kalshi' }, 0);
          this.opts.logger.warn({ venue: 'kalshi', reason: e.reason }, 'kalshi ws disconnected');
          this.emit('disconnected', { reason: e.reason, atMs: e.since });
          break;
        }
        case 'schedule_retry':
          this.retry = this.opts.clock.setTimeout(() => this.feed({ type: 'retry_due' }), e.delayMs);
          break;
        case 'cancel_retry':
          this.opts.clock.clearTimeout(this.retry);
          this.retry = undefined;
          break;
        case 'resubscribe':
          this.resubscribe();
          break;
        case 'emit_reconnected':
          metrics().wsReconnectsTotal.inc({ venue: 'kalshi' });
          metrics().wsConnected.set({ venue: 'kalshi' }, 1);
          this.emit('reconnected', { attempts: e.attempts, downtimeMs: e.downMs });
          break;
        case 'emit_reconcile':
          this.emit('reconcile', { reason: 'reconnect' });
          break;
        case 'resume':
          if (this.first) {
            metrics().wsConnected.set({ venue: 'kalshi' }, 1);
            const first = this.first;
            this.first = undefined;
            first.resolve();
          }
          break;
        default:
          assertNever(e);
      }
    }
  }

  private openSocket(): void {
    const { url, credentials, clock } = this.opts;
    const generation = ++this.generation;
    const ws = new WebSocket(url, { headers: { ...authHeaders(credentials, 'GET', url, clock.now()) } });
    this.ws = ws;
    const mine = () => this.generation === generation && this.ws === ws;
    ws.once('open', () => {
      if (!mine()) return;
      ws.on('message', (data) => this.onMessage(String(data)));
      ws.on('ping', () => this.feed({ type: 'frame', tick: false }));
      this.feed({ type: 'socket_open' });
    });
    ws.on('error', (e) => {
      if (!mine()) return;
      this.opts.logger.warn({ venue: 'kalshi', err: e.message }, 'kalshi ws error');
      // Before the handshake completed no close follows reliably: this is the loss.
      if (ws.readyState !== WebSocket.OPEN) this.lose('error', e);
    });
    ws.on('close', () => mine() && this.lose('closed'));
  }

  /** Takes every subscription again on the fresh socket; the machine hears when all are answered. */
  private resubscribe(): void {
    const generation = this.generation;
    this.syncAll().then(
      () => this.generation === generation && this.feed({ type: 'resubscribed' }),
      (e: Error) => {
        if (this.generation !== generation) return;
        this.opts.logger.warn({ venue: 'kalshi', err: e.message }, 'kalshi ws: resubscribe failed');
        this.lose('resubscribe_failed', e);
      },
    );
  }

  /** The socket is gone, or must go (a subscription could not be made again). */
  private lose(reason: DisconnectReason, err?: Error): void {
    if (this.first && err) this.firstError = err;
    this.feed({ type: 'socket_lost', reason });
  }

  /** Forget everything that belonged to the dead socket; nothing of it may leak into the next one. */
  private teardown(err: Error): void {
    this.generation++;
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
    }
    for (const [id, p] of this.pending) {
      this.opts.clock.clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
    for (const st of this.channels.values()) {
      st.sid = undefined;
      st.active.clear();
    }
    this.synced.clear();
    this.lastSeq.clear();
    this.resyncing.clear();
  }

  // ---- subscriptions -------------------------------------------------------------------------
  private channelState(channel: Channel): ChannelState {
    let st = this.channels.get(channel);
    if (!st) {
      st = { sid: undefined, active: new Set(), chain: Promise.resolve() };
      this.channels.set(channel, st);
    }
    return st;
  }

  private desired(channel: Channel): Set<string> {
    const out = new Set<string>();
    for (const key of this.refs.keys()) {
      const [ch, ticker] = key.split('|') as [string, string];
      if (ch === channel) out.add(ticker);
    }
    return out;
  }

  private syncAll(): Promise<void> {
    const channels = new Set<Channel>();
    for (const key of this.refs.keys()) channels.add(key.split('|')[0] as Channel);
    return Promise.all([...channels].map((c) => this.sync(c))).then(() => undefined);
  }

  /** Serialised per channel: brings the server's subscription in line with the reference counts. */
  private sync(channel: Channel): Promise<void> {
    const st = this.channelState(channel);
    const run = st.chain.catch(() => undefined).then(() => this.syncNow(channel, st));
    st.chain = run;
    return run;
  }

  private async syncNow(channel: Channel, st: ChannelState): Promise<void> {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return; // the reconnect resubscribes
    const want = this.desired(channel);
    const tickers = (s: Set<string>) => [...s].filter((t) => t !== ALL);
    if (want.size === 0) {
      if (st.sid !== undefined) await this.command({ id: 0, cmd: 'unsubscribe', params: { sids: [st.sid] } });
      st.sid = undefined;
      st.active.clear();
      return;
    }
    if (st.sid === undefined) {
      const list = tickers(want);
      const params: Command & { cmd: 'subscribe' } = { id: 0, cmd: 'subscribe', params: { channels: [channel] } };
      if (list.length > 0) params.params.market_tickers = list;
      const r = await this.command(params);
      if (r.type !== 'subscribed') throw new Error(`kalshi ws: unexpected ${r.type} to subscribe`);
      st.sid = r.msg.sid;
      st.active = new Set(want);
      return;
    }
    const add = tickers(want).filter((t) => !st.active.has(t));
    const del = tickers(st.active).filter((t) => !want.has(t));
    if (add.length) await this.command({ id: 0, cmd: 'update_subscription', params: { sids: [st.sid], market_tickers: add, action: 'add_markets' } });
    if (del.length) await this.command({ id: 0, cmd: 'update_subscription', params: { sids: [st.sid], market_tickers: del, action: 'delete_markets' } });
    st.active = new Set(want);
  }

  private command(c: Command): Promise<ServerMessage> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('kalshi ws: not connected'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = this.opts.clock.setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`kalshi ws: ${c.cmd} #${id} timed out`));
      }, this.opts.commandTimeoutMs ?? 5_000);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...c, id }));
    });
  }

  // ---- messages ------------------------------------------------------------------------------
  private onMessage(text: string): void {
    this.feed({ type: 'frame', tick: false });
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const parsed = ServerMessage.safeParse(raw);
    if (!parsed.success) {
      this.opts.logger.warn({ venue: 'kalshi', issue: parsed.error.issues[0]?.message }, 'kalshi ws: unreadable message dropped');
      return;
    }
    const m = parsed.data;
    const id = 'id' in m ? m.id : undefined;
    if (id !== undefined && this.pending.has(id)) {
      const p = this.pending.get(id)!;
      this.pending.delete(id);
      this.opts.clock.clearTimeout(p.timer);
      if (m.type === 'error') p.reject(new Error(`kalshi ws error ${m.msg.code}: ${m.msg.msg}`));
      else p.resolve(m);
    }
    this.dispatch(m);
  }

  private dispatch(m: ServerMessage): void {
    switch (m.type) {
      case 'subscribed':
        return;
      case 'error': {
        const reason = TERMINAL_ERROR_CODES.get(m.msg.code);
        if (m.sid !== undefined && reason) this.lost(m.sid, m.msg.code, reason);
        return;
      }
      case 'ok':
      case 'unsubscribed':
        if (m.sid !== undefined && m.seq !== undefined) this.sequence(m.sid, m.seq);
        return;
      case 'orderbook_snapshot': {
        const t = m.msg.market_ticker;
        const book = this.books.get(t) ?? new LocalBook(t);
        this.books.set(t, book);
        book.snapshot(m.msg.yes_dollars_fp, m.msg.no_dollars_fp);
        this.synced.add(t);
        this.lastSeq.set(m.sid, m.seq);
        if (this.resyncing.has(m.sid) && this.tickersOf(m.sid).every((x) => this.synced.has(x))) this.resyncing.delete(m.sid);
        this.emit('book', { ...book.top(), tsMs: this.opts.clock.now() });
        return;
      }
      case 'orderbook_delta': {
        if (!this.sequence(m.sid, m.seq)) return;
        const t = m.msg.market_ticker;
        const book = this.books.get(t);
        if (!book || !this.synced.has(t)) return;
        if (!book.apply(m.msg.side, m.msg.price_dollars, m.msg.delta_fp)) {
          this.resync(m.sid, 'negative');
          return;
        }
        this.emit('book', { ...book.top(), tsMs: m.msg.ts_ms ?? this.opts.clock.now() });
        return;
      }
      case 'ticker': {
        const x = m.msg;
        this.emit('ticker', { ticker: x.market_ticker, last: x.price_dollars, bid: x.yes_bid_dollars, ask: x.yes_ask_dollars, bidSize: x.yes_bid_size_fp, askSize: x.yes_ask_size_fp, tsMs: x.ts_ms });
        return;
      }
      case 'trade':
        this.emit('trade', { tradeId: m.msg.trade_id, ticker: m.msg.market_ticker, price: m.msg.yes_price_dollars, count: m.msg.count_fp, takerSide: m.msg.takerSide, tsMs: m.msg.ts_ms ?? (m.msg.ts ?? 0) * 1000 });
        return;
      case 'fill': {
        const f = m.msg;
        const u: FillUpdate = {
          tradeId: f.trade_id, orderId: f.order_id, ticker: f.market_ticker, side: f.bookSide,
          price: f.yes_price_dollars, count: f.count_fp, isTaker: f.is_taker, tsMs: f.ts_ms ?? (f.ts ?? 0) * 1000,
        };
        if (f.fee_cost !== undefined) u.feeMicros = f.fee_cost;
        if (f.client_order_id) u.clientOrderId = f.client_order_id;
        if (f.post_position_fp !== undefined) u.postPosition = f.post_position_fp;
        this.emit('fill', u);
        return;
      }
      case 'user_order':
        this.emit('order', m.msg);
        return;
    }
  }

  /** true = apply the message; false = skip it (duplicate, or a resync is under way). */
  private sequence(sid: number, seq: number): boolean {
    if (this.resyncing.has(sid)) return false;
    const verdict = checkSeq(this.lastSeq.get(sid), seq);
    if (verdict === 'duplicate') return false;
    if (verdict === 'gap') {
      this.opts.logger.warn({ venue: 'kalshi', sid, expected: (this.lastSeq.get(sid) ?? 0) + 1, got: seq }, 'kalshi ws: sequence gap');
      this.resync(sid, 'gap');
      return false;
    }
    this.lastSeq.set(sid, seq);
    return true;
  }

  private tickersOf(sid: number): string[] {
    const st = this.channels.get('orderbook_delta');
    return st && st.sid === sid ? [...st.active].filter((t) => t !== ALL) : [];
  }

  /**
   * A terminal error ended subscription `sid` at the exchange: its books are lost (after 25 the
   * exchange dropped messages) and nothing more comes on it. Forget it and subscribe again; the
   * new subscription starts with fresh snapshots. A lost fill or user_orders subscription also
   * asks for a reconciliation, since fills or order changes may have gone by unseen.
   */
  private lost(sid: number, code: number, reason: ResyncReason): void {
    const entry = [...this.channels.entries()].find(([, st]) => st.sid === sid);
    if (!entry) {
      this.opts.logger.warn({ venue: 'kalshi', sid, code }, 'kalshi ws: terminal error for a subscription we do not hold');
      return;
    }
    const [channel, st] = entry;
    const tickers = channel === 'orderbook_delta' ? [...st.active].filter((t) => t !== ALL) : [];
    this.opts.logger.warn({ venue: 'kalshi', sid, code, channel, tickers }, 'kalshi ws: subscription ended by the exchange, subscribing again');
    for (const t of tickers) this.synced.delete(t);
    this.lastSeq.delete(sid);
    this.resyncing.delete(sid);
    st.sid = undefined;
    st.active.clear();
    if (channel === 'orderbook_delta') {
      metrics().kalshiBookResyncsTotal.inc();
      this.emit('resync', { sid, tickers, reason });
    }
    if (channel === 'fill' || channel === 'user_orders') this.emit('reconcile', { reason: 'subscription_lost' });
    const generation = this.generation;
    this.sync(channel).catch((e: Error) => {
      if (this.generation !== generation) return; // that socket is gone already; the reconnect resubscribes
      this.opts.logger.warn({ venue: 'kalshi', sid, err: e.message }, 'kalshi ws: resubscribe failed, reconnecting');
      this.lose('resubscribe_failed');
    });
  }

  /** Throw the sid's books away and ask for fresh snapshots; deltas are ignored until they arrive. */
  private resync(sid: number, reason: 'gap' | 'negative'): void {
    // get_snapshot is answered by the snapshots themselves, carrying the command id (no `ok`).
    const tickers = this.tickersOf(sid);
    metrics().kalshiBookResyncsTotal.inc();
    this.opts.logger.warn({ venue: 'kalshi', sid, reason, tickers }, 'kalshi ws: book resync');
    this.resyncing.add(sid);
    this.lastSeq.delete(sid);
    for (const t of tickers) this.synced.delete(t);
    this.emit('resync', { sid, tickers, reason });
    if (tickers.length === 0) return;
    const generation = this.generation;
    this.command({ id: 0, cmd: 'update_subscription', params: { sids: [sid], market_tickers: tickers, action: 'get_snapshot' } }).catch((e: Error) => {
      // Could not even ask: start over on a fresh socket, which resubscribes everything.
      if (this.generation !== generation) return;
      this.opts.logger.warn({ venue: 'kalshi', sid, err: e.message }, 'kalshi ws: resync request failed, reconnecting');
      this.lose('resubscribe_failed');
    });
  }
}
