/**
 * The market-data hub's own thread (supervisor/md-hub.ts): one NATS subscription per instrument
 * any strategy of this process trades, each tick read and checked once here, its bytes put in
 * the latest-tick slot of every worker that trades the instrument (actors/tick-slots.ts), and
 * the worker's bell rung unless it is rung already. Its connection carries nothing but market
 * data and the last-tick requests; kill broadcasts have their own thread (supervisor/kill-relay.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { connectBus, deadLetter, requestParsed } from '../actors/bus.ts';
import { subjects } from '../actors/subjects.ts';
import { LastTicksReplySchema, LastTicksRequestSchema, MAX_PAYLOAD_BYTES, type Tick, type Venue } from '../actors/messages.ts';
import { readTick } from '../actors/tick-check.ts';
import { TICK_SLOT_CAPACITY, TickSlotWriter, tickSlotsBytes } from '../actors/tick-slots.ts';
import { HubCommandSchema, type HubReport, type HubStart } from './md-hub-protocol.ts';

const port = parentPort!;
const start = workerData as HubStart;
const report = (r: HubReport) => port.postMessage(r);
const encoder = new TextEncoder();

type Target = { writer: TickSlotWriter; slot: number };
type Instrument = { venue: Venue; symbol: string; lastSeq: number; last: Uint8Array | undefined; targets: Target[] };
/**
 * One subscription per subject. Two symbols can share a subject (actors/subjects.ts `token`
 * writes `.`, `*`, `>` and spaces as `_`): each tick goes to the instrument its payload names.
 */
type Channel = { venue: Venue; sub: Subscription | undefined; bySymbol: Map<string, Instrument> };
type Feed = { writer: TickSlotWriter; keys: string[] };

const instrumentKey = (venue: Venue, symbol: string) => `${venue}|${symbol}`;
const instruments = new Map<string, Instrument>();
const channels = new Map<string, Channel>();
const feeds = new Map<number, Feed>();
/** Asks for last ticks this many times (250 ms, 500 ms, ... apart) before leaving it to live ticks. */
const CATCH_UP_ATTEMPTS = 6;
/** The broker answers at most this many symbols a request (LastTicksRequestSchema). */
const CATCH_UP_BATCH = 500;

/** A checked tick, newer than the instrument's last, into every slot of it; an older one (a replay, a late catch-up answer) is dropped. */
function offer(inst: Instrument, t: Tick, bytes: Uint8Array): void {
  if (t.seq <= inst.lastSeq) return;
  inst.lastSeq = t.seq;
  // Kept past this callback; a tick padded past a slot is written in its compact form.
  const own = bytes.length <= TICK_SLOT_CAPACITY ? bytes.slice() : encoder.encode(JSON.stringify(t));
  inst.last = own;
  for (const { writer, slot } of inst.targets) {
    writer.write(slot, own);
    toRing.add(writer);
  }
  if (!ringing) {
    ringing = true;
    queueMicrotask(ringBells);
  }
}

/**
 * The bells are rung once the NATS client has handed over every message of the read it is in
 * (its callbacks run synchronously, one read at a time): a worker that trades several of the
 * instruments in one read, or gets several ticks of one, is rung once. A hub that falls behind
 * reads more messages a time, so it rings fewer bells per tick, not more.
 */
const toRing = new Set<TickSlotWriter>();
let ringing = false;
function ringBells(): void {
  ringing = false;
  for (const writer of toRing) writer.ring();
  toRing.clear();
}

/** A tick from the wire: refused (dead-lettered, the field named) unless it is a tick of this subject's instrument within the size limit. */
function receive(nc: NatsConnection | undefined, channel: Channel, msg: Pick<Msg, 'subject' | 'data'>): void {
  const data = msg.data;
  let error: string;
  const r = data.length > MAX_PAYLOAD_BYTES ? undefined : readTick(data);
  const inst = r?.ok && r.value.venue === channel.venue ? channel.bySymbol.get(r.value.symbol) : undefined;
  if (!r) error = `payload of ${data.length} bytes is over the ${MAX_PAYLOAD_BYTES}-byte limit of ${msg.subject}`;
  else if (!r.ok) error = r.error;
  else if (!inst) error = `a tick of ${r.value.venue} ${r.value.symbol} on the subject of ${channel.venue} ${[...channel.bySymbol.keys()].join(', ')}`;
  else return offer(inst, r.value, data);
  if (!nc) return;
  deadLetter(nc, msg as Msg, error);
  report({ type: 'dead-letter', subject: msg.subject, error, bytes: data.length });
}

/**
 * The first tick must not be the first run of this code (the kill relay's lesson, docs/latency.md
 * "Kill propagation"): the check, the slot write and the bell run on scratch memory at start.
 */
function warmUp(): void {
  const writer = new TickSlotWriter(new SharedArrayBuffer(tickSlotsBytes(1)), 1);
  const inst: Instrument = { venue: 'kite', symbol: 'WARM:UP', lastSeq: 0, last: undefined, targets: [{ writer, slot: 0 }] };
  const channel: Channel = { venue: 'kite', sub: undefined, bySymbol: new Map([['WARM:UP', inst]]) };
  for (let seq = 1; seq <= 256; seq++) {
    const data = encoder.encode(JSON.stringify({ type: 'tick', venue: 'kite', symbol: 'WARM:UP', seq, ts: Date.now(), recvTs: Date.now(), last: 100_000 + seq }));
    receive(undefined, channel, { subject: 'warm-up', data });
  }
}
warmUp();

const nc = await connectBus({
  servers: start.natsUrl, name: 'orch-md-hub',
  ...(start.user && start.pass ? { user: start.user, pass: start.pass } : {}),
  ...(start.tlsCaFile ? { tlsCaFile: start.tlsCaFile } : {}),
});

function subscribe(channel: Channel, subject: string): Subscription {
  // In the read loop: no promise, no await between the socket and the slots.
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return report({ type: 'subscription-error', subject, error: err.message });
      try {
        receive(nc, channel, msg);
      } catch (e) {
        // One bad tick must not end the thread every strategy's ticks go through.
        report({ type: 'invalid', error: `${subject}: ${(e as Error).message}` });
      }
    },
  });
}

/** The broker's last tick of each instrument: a still market sends nothing more, and ticks published while this connection was down are gone. */
async function catchUp(venue: Venue, symbols: string[]): Promise<void> {
  for (let i = 0; i < symbols.length; i += CATCH_UP_BATCH) {
    const batch = symbols.slice(i, i + CATCH_UP_BATCH);
    for (let attempt = 1; ; attempt++) {
      try {
        const { ticks } = await requestParsed(nc, subjects.lastTicks(), LastTicksRequestSchema, { venue, symbols: batch }, LastTicksReplySchema, 2_000);
        for (const t of ticks) {
          const inst = instruments.get(instrumentKey(t.venue, t.symbol));
          if (inst) offer(inst, t, encoder.encode(JSON.stringify(t)));
        }
        break;
      } catch (err) {
        if (nc.isClosed()) return;
        // Not fatal: the next live tick brings the market.
        if (attempt >= CATCH_UP_ATTEMPTS) { report({ type: 'catch-up-failed', venue, error: (err as Error).message }); break; }
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
  }
}

function catchUpAll(of: Iterable<Instrument>): void {
  const byVenue = new Map<Venue, string[]>();
  for (const inst of of) {
    const list = byVenue.get(inst.venue) ?? [];
    list.push(inst.symbol);
    byVenue.set(inst.venue, list);
  }
  for (const [venue, symbols] of byVenue) void catchUp(venue, symbols);
}

function attach(feedId: number, venue: Venue, symbols: string[], buffer: SharedArrayBuffer): void {
  // Sent again when this thread replaces one that ended: once is enough.
  detach(feedId);
  const writer = new TickSlotWriter(buffer, symbols.length);
  const feed: Feed = { writer, keys: [] };
  feeds.set(feedId, feed);
  const added: Instrument[] = [];
  symbols.forEach((symbol, slot) => {
    const key = instrumentKey(venue, symbol);
    let inst = instruments.get(key);
    if (!inst) {
      inst = { venue, symbol, lastSeq: 0, last: undefined, targets: [] };
      instruments.set(key, inst);
      const subject = subjects.marketData(venue, symbol);
      let channel = channels.get(subject);
      if (!channel) {
        channel = { venue, sub: undefined, bySymbol: new Map() };
        channel.sub = subscribe(channel, subject);
        channels.set(subject, channel);
      }
      channel.bySymbol.set(symbol, inst);
      added.push(inst);
    }
    inst.targets.push({ writer, slot });
    feed.keys.push(key);
    // A strategy that starts (or restarts) after its instrument's last tick gets it at once.
    if (inst.last) writer.write(slot, inst.last);
  });
  writer.ring();
  if (added.length > 0) void nc.flush().then(() => catchUpAll(added), () => undefined);
}

function detach(feedId: number): void {
  const feed = feeds.get(feedId);
  if (!feed) return;
  feeds.delete(feedId);
  for (const key of new Set(feed.keys)) {
    const inst = instruments.get(key);
    if (!inst) continue;
    inst.targets = inst.targets.filter((t) => t.writer !== feed.writer);
    if (inst.targets.length > 0) continue;
    instruments.delete(key);
    const subject = subjects.marketData(inst.venue, inst.symbol);
    const channel = channels.get(subject);
    channel?.bySymbol.delete(inst.symbol);
    if (!channel || channel.bySymbol.size > 0) continue;
    channel.sub?.unsubscribe();
    channels.delete(subject);
  }
}

void (async () => {
  for await (const s of nc.status()) if (s.type === 'reconnect') catchUpAll(instruments.values());
})();

port.on('message', (raw: unknown) => {
  const cmd = HubCommandSchema.safeParse(raw);
  if (!cmd.success) return report({ type: 'invalid', error: cmd.error.message });
  const c = cmd.data;
  if (c.type === 'attach') attach(c.feedId, c.venue, c.symbols, c.buffer as SharedArrayBuffer);
  if (c.type === 'detach') detach(c.feedId);
  if (c.type === 'subjects') report({ type: 'subjects', subjects: [...channels.keys()].sort() });
  if (c.type === 'stop') void nc.drain().finally(() => port.close());
});
await nc.flush();
report({ type: 'ready' });
