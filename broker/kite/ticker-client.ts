import WebSocket from 'ws';
import type { Clock, TimerHandle } from '../../actors/clock.ts';
import type { Logger } from '../../actors/logger.ts';
import { TypedEmitter } from '../connection/emitter.ts';
import { DEFAULT_TIMING, initialPhase, step, type ConnPhase, type DisconnectReason, type Effect, type Input, type Timing } from '../connection/reconnect.ts';
import { SubscriptionBook, type WireChange } from './subscriptions.ts';
import { encodeControl, type ControlMessage } from './ticker-codec.ts';
import { parseBinaryFrame, parseTextFrame, type Tick, type TickerOrderUpdate } from './ticker-parser.ts';
import { nseCashMarketOpen } from './market-hours.ts';
import type { TickMode } from '../../config/tick-mode.ts';
import { assertNever } from '../../actors/assert-never.ts';

/**
 * Kite's market-data WebSocket: up to 3 sockets of 3000 instruments, reference-counted
 * subscriptions, and the eight-step reconnect protocol of reconnect.ts for each socket.
 */

export type TickerState =
  | { kind: 'connecting' }
  | { kind: 'open' }
  | { kind: 'disconnected'; since: number }
  | { kind: 'closed' };

export type TickerEvents = {
  ticks: [ticks: Tick[], conn: number];
  order: [order: TickerOrderUpdate];
  disconnected: [e: { conn: number; reason: DisconnectReason; since: number }];
  reconnected: [e: { conn: number; downMs: number; attempts: number; resubscribed: number }];
  /** The broker reconciles positions and open orders over REST when it hears this. */
  reconcile: [e: { conn: number }];
  /** `{"type":"error"}` text frames from Kite. */
  venueError: [message: string];
  message: [data: unknown];
  /** Malformed frames: counted and logged, never thrown. */
  problem: [e: { conn: number; detail: string }];
};

export type KiteTickerOptions = {
  /** e.g. wss://ws.kite.trade or the simulator's wsUrl. */
  url: string;
  apiKey: string;
  /** Called on every connect: the token changes after a re-authentication. */
  getAccessToken: () => string | Promise<string>;
  /**
   * Kite refused the handshake with 403 (TokenException: the session is gone, e.g. after the
   * venue restarted). Called once before the next connect, the same re-login path REST takes.
   */
  reauthenticate?: () => Promise<void>;
  clock: Clock;
  random?: () => number;
  timing?: Partial<Timing>;
  /** Ticks are only expected while the market trades; default NSE cash hours. */
  isMarketOpen?: (nowMs: number) => boolean;
  perConnection?: number;
  maxConnections?: number;
  /** How often the watchdog looks for silent or stale sockets. */
  checkEveryMs?: number;
  logger?: Logger;
};

type Conn = { index: number; phase: ConnPhase; ws?: WebSocket; generation: number; retry?: TimerHandle; authRejected?: boolean };

export class KiteTickerClient {
  readonly events: TypedEmitter<TickerEvents>;
  private readonly book: SubscriptionBook;
  private readonly conns: Conn[] = [];
  private readonly timing: Timing;
  private readonly random: () => number;
  private readonly isMarketOpen: (nowMs: number) => boolean;
  private watchdog: TimerHandle | undefined;
  private started = false;
  private closed = false;
  private readonly seenOrders = new Set<string>();

  constructor(private readonly o: KiteTickerOptions) {
    if (!/^wss?:\/\//.test(o.url)) throw new Error(`KiteTickerClient: url must be ws(s)://, got ${JSON.stringify(o.url)}`);
    if (!o.apiKey) throw new Error('KiteTickerClient: apiKey is required');
    this.book = new SubscriptionBook(o.perConnection ?? 3000, o.maxConnections ?? 3);
    this.timing = { ...DEFAULT_TIMING, ...o.timing };
    this.random = o.random ?? Math.random;
    this.isMarketOpen = o.isMarketOpen ?? nseCashMarketOpen;
    this.events = new TypedEmitter((event, err) => o.logger?.error({ event, err }, 'ticker listener threw'));
  }

  get state(): TickerState {
    if (this.closed) return { kind: 'closed' };
    let since: number | undefined;
    let connecting = !this.started;
    for (const c of this.conns) {
      const p = c.phase;
      switch (p.kind) {
        case 'disconnected':
          since = Math.min(since ?? p.since, p.since);
          break;
        case 'connecting':
        case 'resubscribing':
          if (p.downSince !== null) since = Math.min(since ?? p.downSince, p.downSince);
          else connecting = true;
          break;
        case 'open':
        case 'closed':
          break;
        default:
          return assertNever(p);
      }
    }
    if (since !== undefined) return { kind: 'disconnected', since };
    return connecting ? { kind: 'connecting' } : { kind: 'open' };
  }

  /** Per-socket phases, for health endpoints and tests. */
  connections(): readonly ConnPhase[] {
    return this.conns.map((c) => c.phase);
  }
  modeOf(token: number): TickMode | undefined {
    return this.book.modeOf(token);
  }

  /** Opens the first socket (order updates flow even with nothing subscribed). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.ensureConn(0);
    for (let i = 1; i < (this.o.maxConnections ?? 3); i++) if (this.book.size(i) > 0) this.ensureConn(i);
    this.watchdog = this.o.clock.setInterval(() => this.check(), this.o.checkEveryMs ?? 1_000);
  }

  subscribe(tokens: readonly number[], mode: TickMode = 'quote'): void {
    this.apply(this.book.add(tokens, mode));
  }
  unsubscribe(tokens: readonly number[], mode: TickMode = 'quote'): void {
    this.apply(this.book.remove(tokens, mode));
  }

  close(): void {
    if (this.closed) return;
    for (const c of this.conns) this.feed(c, { type: 'close' });
    this.closed = true;
    this.o.clock.clearInterval(this.watchdog);
  }

  // ---- internals ------------------------------------------------------------------------

  private apply(changes: WireChange[]): void {
    for (const ch of changes) {
      const c = this.started ? this.ensureConn(ch.conn) : undefined;
      if (c?.phase.kind !== 'open') continue; // resubscribe on open covers it
      if (ch.unsubscribe.length) this.send(c, { a: 'unsubscribe', v: ch.unsubscribe });
      if (ch.subscribe.length) this.send(c, { a: 'subscribe', v: ch.subscribe });
      for (const [mode, tokens] of ch.modes) this.send(c, { a: 'mode', v: [mode, tokens] });
    }
  }

  private ensureConn(index: number): Conn {
    let c = this.conns[index];
    if (c) return c;
    for (let i = this.conns.length; i <= index; i++) {
      const s = initialPhase(this.o.clock.now());
      c = { index: i, phase: s.state, generation: 0 };
      this.conns[i] = c;
      this.run(c, s.effects);
    }
    return c!;
  }

  private check(): void {
    const marketOpen = this.isMarketOpen(this.o.clock.now());
    for (const c of this.conns) this.feed(c, { type: 'check', marketOpen, hasSubscriptions: this.book.size(c.index) > 0 });
  }

  private feed(c: Conn, input: Input): void {
    const s = step(c.phase, input, this.o.clock.now(), this.random, this.timing);
    c.phase = s.state;
    this.run(c, s.effects);
  }

  private run(c: Conn, effects: Effect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'open_socket':
          void this.openSocket(c);
          break;
        case 'close_socket':
          this.dropSocket(c);
          break;
        case 'emit_disconnected':
          this.o.logger?.warn({ conn: c.index, reason: e.reason }, 'kite ticker disconnected');
          this.events.emit('disconnected', { conn: c.index, reason: e.reason, since: e.since });
          break;
        case 'schedule_retry':
          c.retry = this.o.clock.setTimeout(() => this.feed(c, { type: 'retry_due' }), e.delayMs);
          break;
        case 'cancel_retry':
          this.o.clock.clearTimeout(c.retry);
          break;
        case 'resubscribe':
          // Kite acknowledges no subscribe: once sent, the socket is as subscribed as it gets.
          this.resubscribe(c);
          this.feed(c, { type: 'resubscribed' });
          break;
        case 'emit_reconnected':
          this.o.logger?.info({ conn: c.index, downMs: e.downMs, attempts: e.attempts }, 'kite ticker reconnected');
          this.events.emit('reconnected', { conn: c.index, downMs: e.downMs, attempts: e.attempts, resubscribed: this.book.size(c.index) });
          break;
        case 'emit_reconcile':
          this.events.emit('reconcile', { conn: c.index });
          break;
        case 'resume':
          break; // frames flow again: the open phase routes them to listeners
        default:
          assertNever(e);
      }
    }
  }

  private resubscribe(c: Conn): void {
    const groups = this.book.byMode(c.index);
    const all = groups.flatMap(([, t]) => t);
    if (all.length === 0) return;
    this.send(c, { a: 'subscribe', v: all });
    for (const [mode, tokens] of groups) this.send(c, { a: 'mode', v: [mode, tokens] });
  }

  private async openSocket(c: Conn): Promise<void> {
    const generation = ++c.generation;
    let token: string;
    try {
      if (c.authRejected && this.o.reauthenticate) {
        c.authRejected = false;
        this.o.logger?.warn({ conn: c.index }, 'kite ticker: handshake refused with 403; logging in again before reconnecting');
        await this.o.reauthenticate();
      }
      token = await this.o.getAccessToken();
    } catch (err) {
      this.o.logger?.warn({ conn: c.index, err: (err as Error).message }, 'kite ticker: no access token');
      if (c.generation === generation) this.feed(c, { type: 'socket_lost', reason: 'auth' });
      return;
    }
    if (c.generation !== generation || c.phase.kind !== 'connecting') return;
    const url = new URL(this.o.url);
    url.searchParams.set('api_key', this.o.apiKey);
    url.searchParams.set('access_token', token);
    const ws = new WebSocket(url, { headers: { 'X-Kite-Version': '3' } });
    c.ws = ws;
    const mine = () => c.generation === generation && c.ws === ws;
    ws.on('open', () => mine() && this.feed(c, { type: 'socket_open' }));
    ws.on('unexpected-response', (_req, res) => {
      // Kite answers a handshake with a dead token 403 (TokenException); anything else is an outage.
      res.resume();
      if (!mine()) return;
      if (res.statusCode === 403) c.authRejected = true;
      this.o.logger?.warn({ conn: c.index, status: res.statusCode }, 'kite ticker handshake refused');
      this.dropSocket(c);
      this.feed(c, { type: 'socket_lost', reason: res.statusCode === 403 ? 'auth' : 'error' });
    });
    ws.on('message', (data, isBinary) => {
      if (mine()) this.onFrame(c, data, isBinary);
    });
    ws.on('error', (err) => {
      // Kept off the log line: the handshake URL carries the access token.
      this.o.logger?.debug({ conn: c.index, err: err.message.replace(/access_token=[^&\s]+/g, 'access_token=[redacted]') }, 'kite ticker socket error');
      if (mine()) this.feed(c, { type: 'socket_lost', reason: 'error' });
    });
    ws.on('close', () => mine() && this.feed(c, { type: 'socket_lost', reason: 'closed' }));
  }

  private dropSocket(c: Conn): void {
    const ws = c.ws;
    c.ws = undefined;
    c.generation++;
    if (!ws) return;
    ws.removeAllListeners();
    ws.on('error', () => undefined); // terminate() during the handshake reports an abort
    ws.terminate();
  }

  private onFrame(c: Conn, data: WebSocket.RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      const f = parseBinaryFrame(bytes);
      const ticks = f.type === 'ticks' ? f.ticks : [];
      this.feed(c, { type: 'frame', tick: ticks.length > 0 });
      if (f.type === 'ticks') {
        for (const p of f.problems) this.events.emit('problem', { conn: c.index, detail: p });
        if (ticks.length) this.events.emit('ticks', ticks, c.index);
      }
      return;
    }
    this.feed(c, { type: 'frame', tick: false });
    const m = parseTextFrame(bytes.toString('utf8'));
    switch (m.type) {
      case 'order':
        if (this.firstSight(m.data)) this.events.emit('order', m.data);
        break;
      case 'error':
        this.events.emit('venueError', m.data);
        break;
      case 'message':
        this.events.emit('message', m.data);
        break;
      case 'invalid':
        this.events.emit('problem', { conn: c.index, detail: `text frame: ${m.reason}` });
        break;
      default:
        assertNever(m);
    }
  }

  /** Each socket may carry the same order update; pass each one on once. */
  private firstSight(o: TickerOrderUpdate): boolean {
    const key = [o.order_id, o.status, o.filled_quantity, o.pending_quantity, o.exchange_update_timestamp ?? o.order_timestamp].join('|');
    if (this.seenOrders.has(key)) return false;
    this.seenOrders.add(key);
    if (this.seenOrders.size > 5_000) this.seenOrders.delete(this.seenOrders.values().next().value!);
    return true;
  }

  private send(c: Conn, m: ControlMessage): void {
    if (c.ws?.readyState === WebSocket.OPEN) c.ws.send(encodeControl(m));
  }
}
