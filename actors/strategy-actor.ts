import { createInbox, errors as natsErrors, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import { connectBus, subscribeParsed, requestParsed, parseMsg, deadLetter } from './bus.ts';
import { readTick, peekSeq } from './tick-check.ts';
import { subjects } from './subjects.ts';
import {
  LastTicksRequestSchema, LastTicksReplySchema, OrderUpdateSchema, BrokerEventSchema, KillMessageSchema, IntentSchema, IntentReplySchema, HealthSchema,
  type KillLevel, type Health, type Intent, type Tick, KillAckSchema,
  StrategyStateRequestSchema, StrategyStateReplySchema, MAX_PAYLOAD_BYTES,
} from './messages.ts';
import { encodeJson } from './bus.ts';
import { KillGate } from './kill-gate.ts';
import { metrics } from './metrics.ts';
import { StrategySession, type TickPolicy } from './strategy-session.ts';
import { TickFeed } from './tick-feed.ts';
import type { StrategySpec } from '../config/registry.ts';
import type { StrategyContext, StrategyModule, IntentAnswer } from './strategy-contract.ts';

export type StrategyActorOptions = {
  spec: StrategySpec;
  module: StrategyModule;
  natsUrl: string;
  natsUser?: string;
  natsPass?: string;
  /** CA of a NATS cluster's TLS certificates (actors/bus.ts). */
  natsCaFile?: string;
  clock: Clock;
  log: Logger;
  healthIntervalMs?: number;
  intentTimeoutMs?: number;
  /**
   * How long a start waits for the broker's answer with this strategy's positions and open
   * orders (default 30 s). Past it the start fails (a crash: the restart policy applies)
   * rather than trade blind, with a position of 0 while its old orders rest at the venue.
   */
  stateTimeoutMs?: number;
  /** The latched kill level read by the supervisor before this actor starts (strategies have no KV access). */
  initialKill?: InitialKill;
  /** How a strategy slower than its ticks gets them (actors/strategy-session.ts); conflated ticks count in orch_ticks_conflated_total. */
  tickPolicy?: TickPolicy;
  /** The gate the supervisor closes on a kill broadcast (actors/kill-gate.ts); read before every place and modify. */
  killGate?: SharedArrayBuffer;
  /**
   * This worker's latest-tick slots, one per instrument in `spec.instruments` order, written by
   * the host's market-data hub (supervisor/md-hub.ts, actors/tick-feed.ts). Without it the actor
   * subscribes to its instruments on its own connection and asks for their last ticks itself.
   */
  marketData?: SharedArrayBuffer;
};

type ActorState = Health['state'];

/**
 * The strategy's effective kill level at launch. `halted`: its own scope is at 1 or more, or the
 * global one at 3 or more (what a broadcast would have halted it for); without it, level 3+.
 */
export type InitialKill = { level: KillLevel; revision: number; halted?: boolean };

/** Asks for last ticks this many times (250 ms, 500 ms, ... apart) before waiting for live ones. */
const CATCH_UP_ATTEMPTS = 6;

/**
 * One strategy, isolated: its own NATS connection, its own view of its orders and position.
 * A strategy callback that throws fails the actor (let it crash); the supervisor restarts it.
 */
export class StrategyActor {
  private nc: NatsConnection | undefined;
  private readonly subs: Subscription[] = [];
  private feed: TickFeed | undefined;
  private readonly session: StrategySession;
  private state: ActorState = 'starting';
  private level: KillLevel = 0;
  private killRevision = -1;
  /** Read before every place and modify: the supervisor's shared gate, or the actor's own. */
  private readonly gate: KillGate;
  private readonly ownGate: KillGate | undefined;
  /** Halted by a kill level (strategy scope 1+, or global 3+): shown as `halted` while running. */
  private halted = false;
  private readonly disconnectedVenues = new Set<string>();
  private healthTimer: ReturnType<Clock['setInterval']> | undefined;
  private resolveDone!: () => void;
  private rejectDone!: (e: unknown) => void;
  /** Settles when the actor stops (resolves) or crashes (rejects). */
  readonly done: Promise<void>;
  readonly ctx: StrategyContext;

  /** The actor's NATS connection once started; the metrics forwarder publishes on it. */
  get connection(): NatsConnection | undefined {
    return this.nc;
  }

  constructor(private readonly opts: StrategyActorOptions) {
    this.done = new Promise<void>((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    this.ownGate = opts.killGate ? undefined : new KillGate();
    this.gate = opts.killGate ? new KillGate(opts.killGate) : this.ownGate!;
    this.session = new StrategySession({
      spec: opts.spec, module: opts.module, clock: opts.clock, log: opts.log, gate: this.gate,
      send: (intent) => this.sendIntent(intent),
      onCrash: (err) => this.crash(err),
      // The labelled child once, not a label lookup per conflated tick.
      onConflated: ((conflated) => (n = 1) => conflated.inc(n))(metrics.ticksConflatedTotal.labels({ actor: opts.spec.id })),
      killLevel: () => this.level,
      brokerConnected: () => !this.disconnectedVenues.has(opts.spec.venue),
      ...(opts.tickPolicy ? { tickPolicy: opts.tickPolicy } : {}),
    });
    this.ctx = this.session.ctx;
    // Known before the first subscription, so a broadcast missed while down cannot be traded through.
    if (opts.initialKill) {
      this.level = opts.initialKill.level;
      this.killRevision = opts.initialKill.revision;
      this.halted = opts.initialKill.halted ?? opts.initialKill.level >= 3;
      // Only the effective level is known here (seeded as global); the broker's gate still judges every intent that reaches it.
      this.ownGate?.seed(opts.initialKill.level, 0, opts.initialKill.revision);
    }
  }

  async start(): Promise<void> {
    const { spec, log } = this.opts;
    const busOpts: Parameters<typeof connectBus>[0] = { servers: this.opts.natsUrl, name: `strategy:${spec.id}` };
    if (this.opts.natsUser) busOpts.user = this.opts.natsUser;
    if (this.opts.natsPass) busOpts.pass = this.opts.natsPass;
    if (this.opts.natsCaFile) busOpts.tlsCaFile = this.opts.natsCaFile;
    this.nc = await connectBus(busOpts);
    this.session.create();
    const nc = this.nc;
    // Kill broadcasts first, so nothing this actor does can precede what it has been told.
    this.subs.push(subscribeParsed(nc, subjects.kill(), KillMessageSchema, (m) => this.onKill(m), { log }));
    this.subs.push(subscribeParsed(nc, subjects.brokerEvents(), BrokerEventSchema, (e) => {
      if (e.type === 'BrokerDisconnected' && e.venue === spec.venue) { this.disconnectedVenues.add(e.venue); this.settleState(); }
      if (e.type === 'BrokerReconnected' && e.venue === spec.venue) { this.disconnectedVenues.delete(e.venue); this.settleState(); }
      // A broker that became ready (a restart, a standby taking over) never judges an intent
      // sent before: a place that timed out waiting for its predecessor would stay `pending`
      // here for ever, and a strategy that waits for its pending orders would never trade again.
      // Its view replaces ours (places still awaiting their answer kept).
      if (e.type === 'BrokerReady' && this.state !== 'starting' && !this.ending) {
        void this.loadState(nc).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'positions not refreshed after a broker became ready'));
      }
      this.session.brokerEvent(e);
    }, { log }));
    // In the read loop, in arrival order: the snapshot below must land between exactly the
    // updates it already counts and those it does not.
    this.subs.push(subscribeParsed(nc, subjects.orderUpdatesOf(spec.id), OrderUpdateSchema, (u) => this.session.orderUpdate(u), { log, sync: true }));
    await nc.flush();
    // Before any tick: what this strategy holds (a restart is not a fresh start at the venue).
    await this.loadState(nc);
    // onStart is queued before the first tick can be.
    this.session.start();
    if (this.opts.marketData) {
      // The hub keeps every instrument's last tick and catches up after its own reconnects.
      this.feed = new TickFeed({ buffer: this.opts.marketData, symbols: spec.instruments, session: this.session, log });
      this.feed.start();
    } else {
      for (const symbol of spec.instruments) this.subs.push(this.subscribeTicks(nc, symbol));
      await nc.flush();
    }
    // A restart does not lift a halt: the latched level read at launch still applies.
    this.state = 'running';
    this.settleState();
    this.healthTimer = this.opts.clock.setInterval(() => this.publishHealth(), this.opts.healthIntervalMs ?? 1000);
    log.info({ instruments: spec.instruments }, 'strategy started');
    if (!this.feed) void this.catchUpTicks();
    void this.catchUpAfterReconnects(nc);
  }

  /**
   * One instrument's ticks, taken in the read loop as bytes: each is read (parsed and checked,
   * actors/tick-check.ts) only when the strategy is ready for it, so a tick replaced by a newer
   * one while the strategy is busy costs no parse (actors/strategy-session.ts, `tickUnread`).
   * A payload that is not a tick of this instrument is dead-lettered when its turn comes (at
   * once when it names no seq: no tick replaces it unread).
   */
  private subscribeTicks(nc: NatsConnection, symbol: string): Subscription {
    const { spec, log } = this.opts;
    const subject = subjects.marketData(spec.venue, symbol);
    return nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return void log.warn({ err, subject }, 'subscription error');
        const seq = peekSeq(msg.data);
        if (seq === undefined) {
          // Every tick the broker writes names its seq: bytes without one are read now, so a
          // newer tick cannot replace them unread and a malformed payload is always dead-lettered.
          const t = this.readTickOf(nc, msg, symbol, seq);
          if (t) this.session.tick(t);
          return;
        }
        this.session.tickUnread(symbol, seq, () => this.readTickOf(nc, msg, symbol, seq));
      },
    });
  }

  /** The tick in `msg` if it is one of `symbol` numbered `seq`; otherwise dead-lettered, with the reason. */
  private readTickOf(nc: NatsConnection, msg: Msg, symbol: string, seq: number | undefined): Tick | undefined {
    const { spec, log } = this.opts;
    const r = msg.data.length > MAX_PAYLOAD_BYTES
      ? { ok: false as const, error: `payload of ${msg.data.length} bytes is over the ${MAX_PAYLOAD_BYTES}-byte limit of ${msg.subject}` }
      : readTick(msg.data);
    let error: string;
    if (!r.ok) error = r.error;
    else if (r.value.symbol !== symbol || r.value.venue !== spec.venue) error = `a tick of ${r.value.venue} ${r.value.symbol} on the subject of ${spec.venue} ${symbol}`;
    else if (seq !== undefined && r.value.seq !== seq) error = `seq: the payload names ${seq} first and ${r.value.seq} last`;
    else return r.value;
    deadLetter(nc, msg, error, log);
    return undefined;
  }

  /** Once running: a halt shows over a disconnect, a disconnect over running. */
  private settleState(): void {
    if (this.state !== 'running' && this.state !== 'paused' && this.state !== 'halted') return;
    this.state = this.halted ? 'halted' : this.disconnectedVenues.has(this.opts.spec.venue) ? 'paused' : 'running';
  }

  private get ending(): boolean {
    return this.state === 'stopped' || this.state === 'stopping';
  }

  /**
   * Ticks published while the connection was down are gone; a still market would not send
   * another. So are order updates: the positions and open orders are asked for again.
   */
  private async catchUpAfterReconnects(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type !== 'reconnect' || this.ending) continue;
      if (!this.feed) void this.catchUpTicks();
      void this.loadState(nc).catch((err: unknown) => this.opts.log.warn({ err: (err as Error).message }, 'positions not refreshed after reconnect'));
    }
  }

  /** Asks the broker until it answers, within the start deadline; each answer replaces the view. */
  private async loadState(nc: NatsConnection): Promise<void> {
    const { clock, log } = this.opts;
    const limitMs = this.opts.stateTimeoutMs ?? 30_000;
    const deadline = clock.now() + limitMs;
    for (let attempt = 1; ; attempt++) {
      if (await this.askState(nc, Math.min(2_000, Math.max(1, deadline - clock.now())))) {
        log.info({ positions: this.session.positionsView(), openOrders: this.session.openOrderCount(), attempt }, 'positions and open orders received');
        return;
      }
      if (this.ending || nc.isClosed()) return;
      if (clock.now() >= deadline) throw new Error(`the broker did not send this strategy's positions and open orders within ${limitMs} ms; not starting blind`);
      // No responder answers at once: do not spin while the broker is not listening yet.
      const pause = Math.min(250 * attempt, 2_000, Math.max(0, deadline - clock.now()));
      if (pause > 0) await clock.sleep(pause);
    }
  }

  /**
   * One request, answered in the read loop (a callback, not a promise continuation): every
   * order update dispatched before it was published before the broker's snapshot, so it is
   * counted there; every one after it is new.
   */
  private askState(nc: NatsConnection, timeoutMs: number): Promise<boolean> {
    const { spec, clock, log } = this.opts;
    return new Promise<boolean>((resolve) => {
      const prefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
      const inbox = createInbox(prefix);
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      const sub = nc.subscribe(inbox, {
        max: 1,
        callback: (err, msg) => {
          clock.clearTimeout(timer);
          if (err) return resolve(false);
          const r = parseMsg(StrategyStateReplySchema, msg.data);
          if (!r.ok) {
            // A 503 "no responders" status has no body: the broker is not listening yet.
            if (msg.data.length > 0) log.error({ error: r.error }, 'invalid positions reply from the broker');
            return resolve(false);
          }
          this.session.applyState(r.value);
          resolve(true);
        },
      });
      timer = clock.setTimeout(() => { sub.unsubscribe(); resolve(false); }, timeoutMs);
      try {
        nc.publish(subjects.strategyState(spec.id), encodeJson(StrategyStateRequestSchema, {}), { reply: inbox });
      } catch {
        clock.clearTimeout(timer);
        sub.unsubscribe();
        resolve(false);
      }
    });
  }

  /**
   * Asks the broker for the last tick of each instrument: a market that does not move sends
   * nothing more, and this strategy may have subscribed after its last tick went out. A tick
   * already seen (same or older seq) is dropped by onTick, so racing a live tick is harmless.
   */
  private async catchUpTicks(): Promise<void> {
    const { spec, log, clock } = this.opts;
    if (!this.nc || spec.instruments.length === 0) return;
    const stopping = () => this.ending || !this.nc || this.nc.isClosed();
    // The broker may not be listening yet (it reconnects on its own after a server restart).
    for (let attempt = 1; ; attempt++) {
      try {
        const { ticks } = await requestParsed(this.nc, subjects.lastTicks(), LastTicksRequestSchema, { venue: spec.venue, symbols: [...spec.instruments] }, LastTicksReplySchema, 2_000);
        if (stopping()) return;
        for (const t of ticks) this.session.tick(t);
        log.debug({ ticks: ticks.length, attempt }, 'last ticks received');
        return;
      } catch (err) {
        if (stopping()) return;
        if (attempt >= CATCH_UP_ATTEMPTS) {
          // Not fatal: the next live tick brings the market.
          log.warn({ err: (err as Error).message, attempts: attempt }, 'last ticks not received');
          return;
        }
        await clock.sleep(250 * attempt);
      }
    }
  }

  async stop(): Promise<void> {
    if (this.ending) return this.done;
    this.state = 'stopping';
    this.opts.clock.clearInterval(this.healthTimer);
    for (const s of this.subs) s.unsubscribe();
    this.feed?.stop();
    await this.session.stop();
    await this.nc?.drain().catch(() => undefined);
    this.state = 'stopped';
    this.opts.log.info('strategy stopped');
    this.resolveDone();
    return this.done;
  }

  health(): Health {
    return HealthSchema.parse({
      type: 'health', actorId: this.opts.spec.id, state: this.state, ticks: this.session.ticks, tickGaps: this.session.tickGaps, ticksConflated: this.session.conflated, intents: this.session.intents, ts: this.opts.clock.now(),
    });
  }

  private crash(err: unknown): void {
    this.opts.log.error({ err }, 'strategy crashed');
    this.opts.clock.clearInterval(this.healthTimer);
    for (const s of this.subs) s.unsubscribe();
    this.feed?.stop();
    this.state = 'stopped';
    void this.nc?.close().catch(() => undefined);
    this.rejectDone(err);
  }

  private onKill(m: import('./messages.ts').KillMessage): void {
    // Without a supervisor's shared gate the actor keeps its own (one writer per gate).
    if (this.ownGate) this.ownGate.apply(m, this.opts.spec.id);
    // A provisional raise only halts early; the stored outcome that follows it (same revision
    // when the raise changed nothing) decides the rest.
    if (!m.provisional && m.revision < this.killRevision) return;
    const mine = m.scope.kind === 'global' || m.scope.strategyId === this.opts.spec.id;
    if (!mine) return;
    const halts = m.level >= 1 && (m.scope.kind === 'strategy' || m.level >= 3);
    if (m.provisional && (!halts || m.level <= this.level)) return;
    if (!m.provisional) this.killRevision = m.revision;
    this.level = m.level;
    if (halts) this.halted = true;
    if (m.level === 0) this.halted = false;
    this.settleState();
    this.nc?.publish(subjects.killAck(this.opts.spec.id), encodeJson(KillAckSchema, {
      type: 'kill_ack', actorId: this.opts.spec.id, revision: m.revision, level: m.level, ts: this.opts.clock.now(),
      ...(m.provisional ? { provisional: true as const } : {}),
    }));
  }

  private publishHealth(): void {
    if (!this.nc || this.nc.isClosed()) return;
    this.nc.publish(subjects.health(this.opts.spec.id), encodeJson(HealthSchema, this.health()));
  }

  /**
   * A deadline passing is an answer, never an exception: the strategy gets `timeout` (the
   * intent may still be decided, and its order updates will say so) and goes on. No broker
   * listening at all is a denial: the intent reached nobody, so nothing was sent.
   */
  private async sendIntent(intent: Intent): Promise<IntentAnswer> {
    if (!this.nc) throw new Error('strategy not started');
    const afterMs = this.opts.intentTimeoutMs ?? 10_000;
    try {
      return await requestParsed(this.nc, subjects.intent(this.opts.spec.id), IntentSchema, intent, IntentReplySchema, afterMs);
    } catch (err) {
      if (err instanceof natsErrors.TimeoutError) {
        this.opts.log.warn({ intentId: intent.intentId, action: intent.action, afterMs }, 'intent not answered within its deadline');
        return {
          status: 'timeout', intentId: intent.intentId, afterMs,
          reason: `the broker did not answer within ${afterMs} ms; the ${intent.action} may still be carried out: its order updates will tell`,
        };
      }
      if (err instanceof natsErrors.RequestError && err.isNoResponders()) {
        return { status: 'denied', intentId: intent.intentId, rule: 'broker_unavailable', reason: 'no broker is listening for intents; nothing was sent' };
      }
      throw err;
    }
  }
}
