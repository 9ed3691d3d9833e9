import type { TickMode } from '../../config/tick-mode.ts';

/**
 * Who needs which instrument, in which mode. Several strategies may want the same token:
 * each subscribe adds a reference at a mode, the socket carries the highest mode still
 * referenced, and the token is dropped only when its last reference goes. Tokens are pinned
 * to one of up to `maxConnections` sockets of `perConnection` each (Kite: 3 × 3000).
 */

const RANK: Record<TickMode, number> = { ltp: 0, quote: 1, full: 2 };
const MODES: readonly TickMode[] = ['full', 'quote', 'ltp'];

export type WireChange = {
  conn: number;
  subscribe: number[];
  unsubscribe: number[];
  /** Mode to set for tokens newly subscribed or whose effective mode changed. */
  modes: [TickMode, number[]][];
};

export class SubscriptionBook {
  private readonly refs = new Map<number, Record<TickMode, number>>();
  private readonly conn = new Map<number, number>();
  private readonly load: number[];

  constructor(readonly perConnection = 3000, readonly maxConnections = 3) {
    if (!(perConnection > 0) || !(maxConnections > 0)) throw new Error('SubscriptionBook: limits must be positive');
    this.load = new Array<number>(maxConnections).fill(0);
  }

  modeOf(token: number): TickMode | undefined {
    const r = this.refs.get(token);
    if (!r) return undefined;
    return MODES.find((m) => r[m] > 0);
  }
  connectionOf(token: number): number | undefined {
    return this.conn.get(token);
  }
  /** Number of sockets that carry at least one token. */
  connectionsInUse(): number {
    return this.load.filter((n) => n > 0).length;
  }
  size(conn?: number): number {
    return conn === undefined ? this.conn.size : (this.load[conn] ?? 0);
  }
  /** Every token on a socket grouped by its effective mode: what to resend after a reconnect. */
  byMode(conn: number): [TickMode, number[]][] {
    const groups = new Map<TickMode, number[]>();
    for (const [token, c] of this.conn) {
      if (c !== conn) continue;
      const m = this.modeOf(token)!;
      groups.set(m, [...(groups.get(m) ?? []), token]);
    }
    return MODES.filter((m) => groups.has(m)).map((m) => [m, groups.get(m)!]);
  }

  /** Adds one reference per token at `mode`. All or nothing: refuses if the tokens do not fit. */
  add(tokens: readonly number[], mode: TickMode): WireChange[] {
    const unique = [...new Set(tokens)];
    for (const t of unique) if (!Number.isSafeInteger(t) || t <= 0) throw new Error(`SubscriptionBook: bad instrument token ${t}`);
    const fresh = unique.filter((t) => !this.conn.has(t)).length;
    const free = this.load.reduce((n, l) => n + (this.perConnection - l), 0);
    if (fresh > free) throw new Error(`SubscriptionBook: ${fresh} new instruments exceed the ${free} free slots (${this.maxConnections} × ${this.perConnection})`);
    const changes = new Changes();
    for (const t of unique) {
      const before = this.modeOf(t);
      const r = this.refs.get(t) ?? { ltp: 0, quote: 0, full: 0 };
      r[mode]++;
      this.refs.set(t, r);
      const after = this.modeOf(t)!;
      if (before === undefined) {
        const c = this.load.findIndex((l) => l < this.perConnection);
        this.conn.set(t, c);
        this.load[c]!++;
        changes.at(c).subscribe.push(t);
        changes.mode(c, after, t);
      } else if (RANK[after] !== RANK[before]) changes.mode(this.conn.get(t)!, after, t);
    }
    return changes.list();
  }

  /** Drops one reference per token at `mode`; a token nobody references any more is unsubscribed. */
  remove(tokens: readonly number[], mode: TickMode): WireChange[] {
    const changes = new Changes();
    for (const t of new Set(tokens)) {
      const r = this.refs.get(t);
      if (!r || r[mode] === 0) continue;
      const before = this.modeOf(t)!;
      r[mode]--;
      const after = this.modeOf(t);
      const c = this.conn.get(t)!;
      if (after === undefined) {
        this.refs.delete(t);
        this.conn.delete(t);
        this.load[c]!--;
        changes.at(c).unsubscribe.push(t);
      } else if (after !== before) changes.mode(c, after, t);
    }
    return changes.list();
  }
}

class Changes {
  private readonly byConn = new Map<number, WireChange>();
  at(conn: number): WireChange {
    let c = this.byConn.get(conn);
    if (!c) this.byConn.set(conn, (c = { conn, subscribe: [], unsubscribe: [], modes: [] }));
    return c;
  }
  mode(conn: number, mode: TickMode, token: number): void {
    const c = this.at(conn);
    const g = c.modes.find(([m]) => m === mode);
    if (g) g[1].push(token);
    else c.modes.push([mode, [token]]);
  }
  list(): WireChange[] {
    return [...this.byConn.values()].sort((a, b) => a.conn - b.conn);
  }
}
