import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { LogThrottle } from '../actors/log-throttle.ts';
import { clip, MAX_NAME, type Intent, type IntentReply, type PlaceIntent, type Venue } from '../actors/messages.ts';
import { metrics } from '../actors/metrics.ts';
import type { StrategySpec } from '../config/registry.ts';
import { decide, type DecisionView, type DenialRule } from './decide.ts';
import type { Figures } from './denial.ts';
import type { KillLevels } from './kill/levels.ts';
import type { Ledger } from './ledger.ts';
import type { Orders, Written } from './orders.ts';
import { positionOf } from './projection/projection.ts';
import { WINDOW_MS } from './risk/gate.ts';
import type { VenueAdapter } from './venue.ts';

/** The latched kill level as the broker reads it (broker/kill/kill-store.ts). */
export type KillSource = { current(): KillLevels; mustRestart(strategyId?: string): boolean };

export type IntentsOptions = {
  ledger: Ledger;
  orders: Orders;
  venues: ReadonlyMap<Venue, VenueAdapter>;
  strategies: () => ReadonlyMap<string, StrategySpec>;
  kill: KillSource;
  clock: Clock;
  log: Logger;
  lastPrice: (venue: Venue, symbol: string) => number | undefined;
  /** Why this broker may not trade (its lease is lost), if so. */
  fenced: () => string | undefined;
  reconciled: (venue: Venue) => boolean;
  /** Longest a place or a modify may queue for the venue's rate limit (default 5 s). */
  maxRateWaitMs?: number;
  refusalLog?: { perWindow?: number; windowMs?: number };
};

/**
 * Where an intent is answered: once per intent id (a resend gets the first answer, never a
 * second order), judged by `decide` against what the broker knows now, then handed to the
 * orders part. Every answer is logged as a decision; refusals are counted by rule.
 */
export class Intents {
  /** Intents being decided right now; once settled, the projection's decision answers a resend. */
  private readonly inflight = new Map<string, Promise<IntentReply>>();
  /** Per strategy: when its places in the last minute were accepted (rule orders_per_minute). */
  private readonly placed = new Map<string, number[]>();
  private readonly refusalLog: LogThrottle;

  constructor(private readonly o: IntentsOptions) {
    this.refusalLog = new LogThrottle(o.refusalLog);
  }

  /** Places on their way without a venue id yet: reconciliation must not take them for lost. */
  unanswered(): Set<string> {
    return new Set([...this.inflight.keys()].filter((id) => { const r = this.o.ledger.book.get(id); return r !== undefined && !r.venueOrderId; }));
  }

  /** One decision per intent id: a resent intent gets the first answer, never a second order. */
  answer(intent: Intent): Promise<IntentReply> {
    const known = this.inflight.get(intent.intentId);
    if (known) return known.then((r) => (r.status === 'accepted' ? { ...r, duplicate: true } : r));
    // Decided before a restart: the log remembers, so the answer is the same.
    const logged = this.loggedAnswer(intent.intentId);
    if (logged) return Promise.resolve(logged);
    const p = this.handle(intent);
    this.inflight.set(intent.intentId, p);
    // Kept on failure (a bug, not a venue answer): a resend must not find the intent undecided and place again.
    p.then(() => this.inflight.delete(intent.intentId), () => undefined);
    return p;
  }

  /**
   * The answer while the broker is not ready yet (replaying its log, starting its venues,
   * reconciling: a restart, or a standby that has just taken the lease). An intent the log has
   * decided (its requester resending after the old broker died) gets that decision; any other
   * is not judged and not logged, so nothing was sent and a resend with the same id is judged,
   * once, when the broker is ready (README.md, "Writing a strategy").
   */
  notReady(intent: Intent): IntentReply {
    // Final only when denied or bound to a venue order: an accepted write with no venue id is
    // settled by the reconciliation still to come (adopted, or not_landed).
    const logged = this.loggedAnswer(intent.intentId);
    if (logged && (logged.status === 'denied' || logged.venueOrderId !== undefined)) return logged;
    metrics.intentsDeniedTotal.inc({ strategy: this.labelOf(intent.strategyId), rule: 'broker_unavailable' });
    return {
      status: 'denied', intentId: intent.intentId, rule: 'broker_unavailable',
      reason: 'the broker is starting (replaying its event log and reconciling, as after a failover); the intent was not judged and nothing was sent: send it again, the same intent id is never placed twice',
    };
  }

  /** The decision the event log holds for this intent id, as a reply (a resend's answer), if any. */
  private loggedAnswer(intentId: string): IntentReply | undefined {
    const { ledger } = this.o;
    const logged = ledger.projection.decisions.get(intentId);
    if (!logged) return undefined;
    const venueOrderId = ledger.book.get(intentId)?.venueOrderId ?? (logged.status === 'accepted' ? logged.venueOrderId : undefined);
    return logged.status === 'accepted'
      ? { status: 'accepted', intentId, duplicate: true, ...(venueOrderId ? { venueOrderId } : {}) }
      : { status: 'denied', intentId, rule: logged.rule, reason: logged.reason, ...(logged.figures ? { figures: logged.figures } : {}) };
  }

  private async handle(intent: Intent): Promise<IntentReply> {
    const { ledger, orders } = this.o;
    ledger.emit({ kind: 'intent', strategyId: intent.strategyId, intentId: intent.intentId, ts: this.o.clock.now(), intent });
    if (intent.action !== 'place') {
      // A cancel or modify right behind its place: wait for the place's answer rather than deny `order_pending`.
      const placing = this.inflight.get(intent.targetIntentId);
      if (placing && !ledger.book.get(intent.targetIntentId)?.venueOrderId) await placing.catch(() => undefined);
    }
    const d = decide(intent, this.view(intent));
    if (!d.ok) return this.deny(intent, d.rule, d.reason, d.figures);
    const spec = this.o.strategies().get(intent.strategyId);
    switch (intent.action) {
      case 'place': {
        const window = this.recentPlaces(intent.strategyId);
        this.placed.set(intent.strategyId, [...window, this.o.clock.now()]);
        return this.reply(intent, await orders.place(intent, this.o.venues.get(intent.venue)!, spec!.marketProtection));
      }
      case 'cancel':
        return this.reply(intent, await orders.cancel(intent, ledger.book.get(intent.targetIntentId) as Parameters<Orders['cancel']>[1]));
      case 'modify':
        return this.reply(intent, await orders.modify(intent, ledger.book.get(intent.targetIntentId) as Parameters<Orders['modify']>[1], spec!));
      default: {
        const never: never = intent;
        return never;
      }
    }
  }

  /**
   * The broker's own order at kill priority, past every rule but the lease: level 4 closes
   * positions with these. Booked under the strategy whose position it closes, so fills and
   * updates reach it.
   */
  async placeForKill(intent: PlaceIntent, marketProtection?: number): Promise<IntentReply> {
    const venue = this.o.venues.get(intent.venue);
    if (!venue) return this.deny(intent, 'unknown_venue', `venue ${intent.venue} is not configured`);
    const fenced = this.o.fenced();
    if (fenced !== undefined) return this.deny(intent, 'not_leader', `this broker lost its lease (${fenced})`);
    this.o.ledger.emit({ kind: 'intent', strategyId: intent.strategyId, intentId: intent.intentId, ts: this.o.clock.now(), intent });
    return this.reply(intent, await this.o.orders.placeForKill(intent, venue, marketProtection));
  }

  /** What the rules read for this intent, now. */
  private view(intent: Intent): DecisionView {
    const { ledger, orders, venues } = this.o;
    const target = intent.action === 'place' ? undefined : ledger.book.get(intent.targetIntentId);
    const venue = venues.get(intent.action === 'place' ? intent.venue : target?.venue ?? ('' as Venue));
    const op = intent.action === 'modify' ? 'modify' : 'place';
    return {
      now: this.o.clock.now(),
      strategy: this.o.strategies().get(intent.strategyId),
      venue: venue && { venue: venue.venue, connected: venue.connected(), reconciled: this.o.reconciled(venue.venue), canModify: venue.modify !== undefined, ...(venue.maxModificationsPerOrder !== undefined ? { maxModificationsPerOrder: venue.maxModificationsPerOrder } : {}), ...(venue.checkOrder ? { checkOrder: (r) => venue.checkOrder!(r) } : {}) },
      target,
      fenced: this.o.fenced(),
      kill: { levels: this.o.kill.current(), mustRestart: this.o.kill.mustRestart(intent.strategyId) },
      position: (symbol) => positionOf(ledger.projection, intent.strategyId, symbol),
      openOrders: ledger.book.open(intent.strategyId),
      lastPrice: this.o.lastPrice,
      recentPlaces: this.recentPlaces(intent.strategyId),
      modifyPending: target !== undefined && orders.modifyPending(target.intentId),
      rateWaitMs: () => (venue ? orders.rateWaitMs(venue, op) : 0),
      maxRateWaitMs: this.o.maxRateWaitMs ?? 5_000,
    };
  }

  /** When the strategy's places in the last minute were accepted (rule orders_per_minute). */
  recentPlaces(strategyId: string): number[] {
    const now = this.o.clock.now();
    return (this.placed.get(strategyId) ?? []).filter((t) => now - t < WINDOW_MS);
  }

  private reply(intent: Intent, w: Written): IntentReply {
    return w.ok ? { status: 'accepted', intentId: intent.intentId, venueOrderId: w.venueOrderId } : this.deny(intent, w.rule, w.reason, w.figures);
  }

  /** A strategy id fit for a metric label or a log key: a registered one, else `unknown` (an id comes from a message). */
  labelOf(strategyId: string | undefined): string {
    return strategyId !== undefined && this.o.strategies().has(strategyId) ? strategyId : 'unknown';
  }

  deny(intent: Intent, rule: DenialRule, reason: string, figures?: Figures, label = this.labelOf(intent.strategyId)): IntentReply {
    // A venue's message or an input's echo can be any length: the reply and the event are bounded.
    const r = clip(rule, MAX_NAME);
    reason = clip(reason);
    metrics.intentsDeniedTotal.inc({ strategy: label, rule: r });
    this.o.ledger.emit({ kind: 'decision', strategyId: intent.strategyId, intentId: intent.intentId, ts: this.o.clock.now(), decision: 'denied', rule: r, reason, ...(figures ? { figures } : {}) });
    this.logRefusal(label, { strategy: intent.strategyId, intentId: intent.intentId, rule: r, reason });
    return { status: 'denied', intentId: intent.intentId, rule: r, reason, ...(figures ? { figures } : {}) };
  }

  /** A strategy in a refusal loop (halted, over a limit) would write a line per intent: the log is thinned, the counter is not. */
  private logRefusal(label: string, fields: Record<string, string>): void {
    const v = this.refusalLog.take(label, this.o.clock.now());
    if (!v.log) return;
    if (v.suppressedBefore > 0) this.o.log.info({ strategy: label, suppressed: v.suppressedBefore, windowMs: v.windowMs }, 'intent refusals not logged (rate limit of the log)');
    this.o.log.info(fields, 'intent denied');
  }

  /** At stop: how many refusals the log left out. */
  drainRefusals(): void {
    for (const { key, suppressed } of this.refusalLog.drain()) this.o.log.info({ strategy: key, suppressed }, 'intent refusals not logged (rate limit of the log)');
  }
}
