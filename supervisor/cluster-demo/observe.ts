import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { KV_LEASE, STREAM_EVENTS } from '../../actors/subjects.ts';
import { parseStored } from '../../broker/event-log.ts';
import type { LogEvent } from '../../broker/events/schema.ts';
import { intentTag } from '../../broker/kite/tag.ts';
import { LeaseValueSchema } from '../../broker/lease.ts';

/**
 * What the demo and the topology test read from outside the system, as an operator could: the
 * exchange's order book (Kite's GET /orders with the account's token), the event log (the
 * ORCH_EVENTS stream, with each entry's message id), the lease, and the stream's leader. The
 * counts they report are pure functions of what was read.
 */

/** The fields of a Kite order (GET /orders) the counts need. */
export const VenueOrderSchema = z.looseObject({
  order_id: z.string(),
  tag: z.string().nullable().optional(),
  status: z.string(),
  filled_quantity: z.number().int(),
});
export type VenueOrder = z.infer<typeof VenueOrderSchema>;

export async function venueOrders(kite: { rest: string; apiKey: string; accessToken: string }): Promise<VenueOrder[]> {
  const res = await fetch(new URL('orders', kite.rest.endsWith('/') ? kite.rest : `${kite.rest}/`), {
    headers: { authorization: `token ${kite.apiKey}:${kite.accessToken}`, 'x-kite-version': '3' },
  });
  if (!res.ok) throw new Error(`GET /orders: HTTP ${res.status}`);
  return z.object({ data: z.array(VenueOrderSchema) }).parse(await res.json()).data;
}

/** One entry of the event log as stored: its sequence, its message id (the writer's de-duplication key) and the event. */
export type LoggedEntry = { seq: number; msgId: string | undefined; event: LogEvent };

/** The whole event log up to its last entry when the read began; a read during a leader election is retried (up to `patienceMs`). */
export async function readLogEntries(nc: NatsConnection, patienceMs = 45_000): Promise<LoggedEntry[]> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    try {
      return await readOnce(nc);
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`the event log could not be read: ${(e as Error).message}`, { cause: e });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function readOnce(nc: NatsConnection): Promise<LoggedEntry[]> {
  const jsm = await jetstreamManager(nc, { timeout: 3_000 });
  const info = await jsm.streams.info(STREAM_EVENTS);
  const last = info.state.last_seq;
  if (info.state.messages === 0) return [];
  const consumer = await jetstream(nc, { timeout: 3_000 }).consumers.get(STREAM_EVENTS, { deliver_policy: DeliverPolicy.All });
  const out: LoggedEntry[] = [];
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 1_000, expires: 2_000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      const r = parseStored(m);
      if (!r.ok) throw new Error(`event #${m.seq} is not valid: ${r.error}`);
      out.push({ seq: m.seq, msgId: m.headers?.get('Nats-Msg-Id') || undefined, event: r.stored.event });
      if (m.seq >= last) return out;
    }
    if (got === 0) throw new Error(`the read stopped at #${out.at(-1)?.seq ?? 0} of ${last}`);
  }
}

/** The pid of the broker process holding the lease, if any holds it. */
export async function leaseHolderPid(nc: NatsConnection): Promise<number | undefined> {
  const kv = await new Kvm(nc).open(KV_LEASE);
  const e = await kv.get('broker');
  if (!e || e.operation !== 'PUT') return undefined;
  const v = LeaseValueSchema.safeParse(e.json());
  return v.success ? v.data.pid : undefined;
}

/** The node (server name) leading the event log's stream, its copies and how many events it holds. */
export async function eventStreamLeader(nc: NatsConnection): Promise<{ leader: string | undefined; replicas: number; messages: number }> {
  const info = await (await jetstreamManager(nc, { timeout: 3_000 })).streams.info(STREAM_EVENTS);
  return { leader: info.cluster?.leader, replicas: info.config.num_replicas, messages: info.state.messages };
}

/** Venue orders beyond the first for each intent (each intent's tag): 0 when no intent was placed twice. */
export function duplicateOrders(orders: readonly VenueOrder[]): number {
  const perTag = new Map<string, number>();
  for (const o of orders) if (o.tag) perTag.set(o.tag, (perTag.get(o.tag) ?? 0) + 1);
  let extra = 0;
  for (const n of perTag.values()) extra += n - 1;
  return extra;
}

/**
 * What the venue shows and the log does not: a venue order whose intent is not in the log (its
 * intent and write-ahead lost), and a venue order whose logged fills add up to less than the venue
 * filled (a fill lost). One line per lost event; empty when the log holds everything.
 */
export function venueEventsMissingFromLog(entries: readonly LoggedEntry[], orders: readonly VenueOrder[]): string[] {
  const intentByTag = new Map<string, string>();
  const fillQty = new Map<string, number>();
  const seenFills = new Set<string>();
  for (const { event: e } of entries) {
    if (e.kind === 'intent' && e.intentId) intentByTag.set(intentTag(e.intentId), e.intentId);
    if (e.kind === 'fill' && !seenFills.has(e.fill.fillId)) {
      seenFills.add(e.fill.fillId);
      fillQty.set(e.intentId, (fillQty.get(e.intentId) ?? 0) + e.fill.qty);
    }
  }
  const lost: string[] = [];
  for (const o of orders) {
    if (!o.tag) continue;
    const intentId = intentByTag.get(o.tag);
    if (!intentId) {
      lost.push(`venue order ${o.order_id} (tag ${o.tag}): its intent is not in the log`);
      continue;
    }
    const logged = fillQty.get(intentId) ?? 0;
    if (logged < o.filled_quantity) lost.push(`venue order ${o.order_id} (intent ${intentId}): venue filled ${o.filled_quantity}, the log's fills add up to ${logged}`);
  }
  return lost;
}

/**
 * Every entry acknowledged before (read then) must be in the log read after, at the same place
 * with the same message id, and no message id may be stored twice: one line per violation.
 */
export function acknowledgedEntriesLost(before: readonly LoggedEntry[], after: readonly LoggedEntry[]): string[] {
  const bySeq = new Map(after.map((e) => [e.seq, e]));
  const lost: string[] = [];
  for (const b of before) {
    const a = bySeq.get(b.seq);
    if (!a) lost.push(`event #${b.seq} (${b.event.kind}) is gone`);
    else if (a.msgId !== b.msgId || JSON.stringify(a.event) !== JSON.stringify(b.event)) lost.push(`event #${b.seq} (${b.event.kind}) was replaced`);
  }
  const seen = new Map<string, number>();
  for (const a of after) {
    if (a.msgId === undefined) continue;
    const first = seen.get(a.msgId);
    if (first !== undefined) lost.push(`event #${a.seq} repeats #${first} (message id ${a.msgId})`);
    else seen.set(a.msgId, a.seq);
  }
  for (let i = 1; i < after.length; i++) if (after[i]!.seq <= after[i - 1]!.seq) lost.push(`event #${after[i]!.seq} is out of order`);
  return lost;
}
