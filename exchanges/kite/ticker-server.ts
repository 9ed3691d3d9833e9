/**
 * The ticker WebSocket on the REST server's port (HTTP upgrade). Market data goes out as binary
 * frames, order updates as JSON text frames, and a 1-byte heartbeat keeps official clients
 * (which drop a socket after 5 s of silence) attached between ticks.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Clock, TimerHandle } from '../../actors/clock.ts';
import type { Logger } from '../../actors/logger.ts';
import type { KiteSimObserver } from './context.ts';
import type { FaultState } from './faults.ts';
import type { InstrumentIndex } from './instruments.ts';
import type { Market } from './market.ts';
import type { SessionStore } from './sessions.ts';
import { encodeFrame, encodePacket, HEARTBEAT, type TickMode } from './ticker-packets.ts';

export const MAX_TOKENS_PER_CONNECTION = 3000;
export const MAX_CONNECTIONS_PER_API_KEY = 3;
const MODES: ReadonlySet<string> = new Set(['ltp', 'quote', 'full']);
/** A slow reader gets ticks skipped rather than an unbounded send buffer. */
const MAX_BUFFERED_BYTES = 4 << 20;

type Conn = { ws: WebSocket; apiKey: string; subs: Map<number, TickMode> };

export class TickerServer {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly conns = new Set<Conn>();
  private heartbeat: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly sessions: SessionStore,
    private readonly index: InstrumentIndex,
    private readonly market: Market,
    private readonly faults: FaultState,
    heartbeatIntervalMs: number,
    private readonly observer?: KiteSimObserver,
  ) {
    this.heartbeat = clock.setInterval(() => this.broadcast(() => HEARTBEAT), heartbeatIntervalMs);
    faults.attachSockets({ drop: () => this.dropAll() });
  }

  connectionCount(): number {
    return this.conns.size;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://sim');
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    if (url.pathname !== '/ws' && url.pathname !== '/') return refuse('404 Not Found');
    if (this.faults.isRefusing()) return refuse('503 Service Unavailable');
    const apiKey = url.searchParams.get('api_key') ?? undefined;
    try {
      this.sessions.authenticate(apiKey, url.searchParams.get('access_token') ?? undefined);
    } catch {
      return refuse('403 Forbidden');
    }
    const open = [...this.conns].filter((c) => c.apiKey === apiKey).length;
    if (open >= MAX_CONNECTIONS_PER_API_KEY) return refuse('429 Too Many Requests');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, apiKey!));
  }

  /** After each price step: one frame per socket with every subscribed instrument. */
  broadcastTicks(): void {
    const now = this.clock.now();
    this.broadcast((c) => (c.subs.size ? this.frameFor(c, [...c.subs.keys()], now) : undefined));
    if (this.observer?.tickFrameSent && !this.faults.isStalled()) {
      for (const c of this.conns) if (c.subs.size) this.observer.tickFrameSent({ tokens: [...c.subs.keys()], at: performance.now() });
    }
  }

  pushOrder(apiKey: string, payload: object): void {
    const text = JSON.stringify({ type: 'order', data: payload });
    this.broadcast((c) => (c.apiKey === apiKey ? text : undefined));
  }

  dropAll(): void {
    for (const c of this.conns) c.ws.terminate();
    this.conns.clear();
  }

  async close(): Promise<void> {
    this.clock.clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.dropAll();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  private attach(ws: WebSocket, apiKey: string): void {
    const conn: Conn = { ws, apiKey, subs: new Map() };
    this.conns.add(conn);
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on('close', () => this.conns.delete(conn));
    ws.on('error', (err) => this.log.debug({ err: err.message }, 'kite sim ticker socket error'));
  }

  private onMessage(c: Conn, data: RawData, isBinary: boolean): void {
    let msg: { a?: unknown; v?: unknown };
    try {
      msg = isBinary ? {} : JSON.parse(data.toString());
    } catch {
      return this.sendError(c, 'Invalid message: expected JSON.');
    }
    const tokens = (v: unknown): number[] => (Array.isArray(v) ? v.filter((t): t is number => Number.isInteger(t)) : []);
    switch (msg.a) {
      case 'subscribe': {
        const fresh: number[] = [];
        for (const t of tokens(msg.v)) {
          // Unknown tokens are accepted and count toward the cap, but never produce a packet.
          if (c.subs.has(t)) continue;
          if (c.subs.size >= MAX_TOKENS_PER_CONNECTION) {
            this.sendError(c, `Subscription limit of ${MAX_TOKENS_PER_CONNECTION} instruments per connection exceeded.`);
            break;
          }
          c.subs.set(t, 'quote');
          fresh.push(t);
        }
        return this.sendSnapshot(c, fresh);
      }
      case 'unsubscribe':
        for (const t of tokens(msg.v)) c.subs.delete(t);
        return;
      case 'mode': {
        const [mode, list] = Array.isArray(msg.v) ? msg.v : [];
        if (typeof mode !== 'string' || !MODES.has(mode)) return this.sendError(c, 'Invalid mode.');
        const changed = tokens(list).filter((t) => c.subs.has(t));
        for (const t of changed) c.subs.set(t, mode as TickMode);
        return this.sendSnapshot(c, changed);
      }
      default:
        return this.sendError(c, 'Unknown action.');
    }
  }

  /** Real Kite answers a (re)subscription promptly instead of waiting for the next move. */
  private sendSnapshot(c: Conn, tokens: number[]): void {
    if (!tokens.length) return;
    const frame = this.frameFor(c, tokens, this.clock.now());
    if (frame) this.send(c, frame);
  }

  private frameFor(c: Conn, tokens: number[], now: number): Buffer | undefined {
    const packets: Buffer[] = [];
    for (const t of tokens) {
      const inst = this.index.token(t);
      const s = this.market.state(t);
      const mode = c.subs.get(t);
      if (inst && s && mode) packets.push(encodePacket(inst, s, mode, now));
    }
    return packets.length ? encodeFrame(packets) : undefined;
  }

  private sendError(c: Conn, message: string): void {
    this.send(c, JSON.stringify({ type: 'error', data: message }));
  }

  private broadcast(build: (c: Conn) => Buffer | string | undefined): void {
    for (const c of this.conns) {
      const data = build(c);
      if (data !== undefined) this.send(c, data);
    }
  }

  private send(c: Conn, data: Buffer | string): void {
    // A stalled exchange says nothing at all, heartbeats included: that is the fault.
    if (this.faults.isStalled() || c.ws.readyState !== WebSocket.OPEN) return;
    if (typeof data !== 'string' && data !== HEARTBEAT && c.ws.bufferedAmount > MAX_BUFFERED_BYTES) return;
    c.ws.send(data, { binary: typeof data !== 'string' });
  }
}
