/**
 * Reading the market-data recording (stream ORCH_MD, broker/market-recording.ts) back for a
 * replay: every tick in the order the broker published it, which is the order the strategies
 * received it (per instrument, its `seq` order). Reads up to the last tick recorded when the
 * read began; a message that is not a tick is skipped and reported, never yielded.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import { subjects, STREAM_MARKET_DATA } from '../actors/subjects.ts';
import type { Venue } from '../actors/messages.ts';
import { RecordedTickSchema, writeTicks, type RecordedTick, type StoreOptions } from './store.ts';

export type RecordedTickQuery = {
  /** One instrument (both or neither): a subject filter, so the server skips the rest. */
  venue?: Venue;
  instrument?: string;
  /** Tick time (ms), `from <= ts < to`. `from` also starts the read at that store time. */
  from?: number;
  to?: number;
  onInvalid?: (streamSeq: number, error: string) => void;
};

export async function* readRecordedTicks(nc: NatsConnection, q: RecordedTickQuery = {}): AsyncGenerator<RecordedTick> {
  if ((q.venue === undefined) !== (q.instrument === undefined)) throw new Error('readRecordedTicks: venue and instrument go together');
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAM_MARKET_DATA);
  if (info.state.messages === 0) return;
  const last = info.state.last_seq;
  const js = jetstream(nc);
  // A paused recording (broker/market-recording.ts) no longer lists orch.md.> and the server
  // refuses that filter: it is read whole and sorted out here.
  const capturing = info.config.subjects?.includes(subjects.marketDataAll()) === true;
  const filter = q.venue && q.instrument ? subjects.marketData(q.venue, q.instrument) : subjects.marketDataAll();
  const opts: Parameters<typeof js.consumers.get>[1] = capturing ? { filter_subjects: filter } : {};
  const wanted = (t: RecordedTick) => capturing || !q.venue || (t.venue === q.venue && t.symbol === q.instrument);
  // Stored a little after it happened: start a second early, the `ts` filter below is exact.
  if (q.from !== undefined && q.from > 1_000) Object.assign(opts, { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(q.from - 1_000).toISOString() });
  const from = q.from ?? 0;
  const to = q.to ?? Infinity;
  const consumer = await js.consumers.get(STREAM_MARKET_DATA, opts);
  try {
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 1_000, expires: 1_000 });
      let got = 0;
      let done = false;
      for await (const m of batch) {
        got++;
        let json: unknown;
        try {
          json = m.json();
        } catch {
          json = undefined;
        }
        const r = RecordedTickSchema.safeParse(json);
        if (!r.success) q.onInvalid?.(m.seq, r.error.issues[0] ? `${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}` : 'not a tick');
        else if (r.data.ts >= from && r.data.ts < to && wanted(r.data)) yield r.data;
        // Up to the last tick that existed when the read began (more keep arriving while recording).
        if (m.seq >= last || m.info.pending === 0) {
          done = true;
          break;
        }
      }
      if (done || got === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}

/**
 * Copies recorded ticks into the local store (ticks/<venue>/<instrument>/<day>.jsonl), where they
 * outlive the stream's retention and a paper run's fresh start. Returns how many were stored.
 */
export async function exportRecordedTicks(nc: NatsConnection, q: RecordedTickQuery, store: StoreOptions = {}): Promise<number> {
  let n = 0;
  let batch: RecordedTick[] = [];
  for await (const t of readRecordedTicks(nc, q)) {
    batch.push(t);
    if (batch.length >= 50_000) {
      n += await writeTicks(batch, store);
      batch = [];
    }
  }
  if (batch.length) n += await writeTicks(batch, store);
  return n;
}
