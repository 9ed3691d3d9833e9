/**
 * Market-data recording (registry `recording:`): with it, every tick the broker publishes on the
 * built-in exchange lands in stream ORCH_MD and reads back in the order strategies received it;
 * without it no stream exists; switched off, a stream keeps its ticks and records no more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager, StorageType, DiscardPolicy } from '@nats-io/jetstream';
import { pino } from 'pino';
import { connectBus, subscribeParsed } from '../../../actors/bus.ts';
import { subjects, STREAM_MARKET_DATA } from '../../../actors/subjects.ts';
import { TICK_EPOCH_SPAN, TickSchema, type Tick } from '../../../actors/messages.ts';
import { applyMarketRecording } from '../../../broker/market-recording.ts';
import { ensureEventStream } from '../../../broker/event-log.ts';
import { RecordingSettingsSchema } from '../../../config/recording.ts';
import { loadConfig, ConfigError } from '../../../supervisor/config.ts';
import { dataCmd } from '../../../supervisor/commands/data.ts';
import { writeFile } from 'node:fs/promises';
import { readRecordedTicks, exportRecordedTicks } from '../../../backtest/recorded-ticks.ts';
import { readTicks } from '../../../backtest/store.ts';
import { renderRegistry } from '../../support/registry.ts';
import { startNatsServer } from '../../support/nats-server.ts';
import { kiteBrokerOnSim } from '../../support/kite-broker.ts';
import { spec } from '../../support/specs.ts';
import { eventually } from '../../support/wait.ts';
import { startE2E, trader } from '../../support/kite-harness.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const log = pino({ level: 'silent' });

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('recording on in the registry: the ticks the broker publishes are in ORCH_MD (file storage, the configured limits) and read back in order', async (t) => {
  const e = await startE2E({
    yaml: renderRegistry([{ id: 'listener', module: trader, instruments: ['NSE:INFY', 'NSE:TCS'], params: {} }], { recording: { marketData: true, maxAgeHours: 2, maxBytes: 64 * 1024 * 1024 } }),
  });
  t.after(() => e.stop());
  await eventually(() => e.ticks.filter((x) => x.symbol === 'NSE:INFY').length >= 15 && e.ticks.some((x) => x.symbol === 'NSE:TCS'), 'ticks of both instruments');

  const info = await (await jetstreamManager(e.nc)).streams.info(STREAM_MARKET_DATA);
  assert.deepEqual(info.config.subjects, [subjects.marketDataAll()]);
  assert.equal(info.config.storage, StorageType.File);
  assert.equal(info.config.max_age, 2 * 3_600 * 1_000_000_000);
  assert.equal(info.config.max_bytes, 64 * 1024 * 1024);
  assert.equal(info.config.discard, DiscardPolicy.Old);

  const seen = e.ticks.slice(); // what a subscriber received, in order
  const recorded = await all(readRecordedTicks(e.nc));
  assert.ok(recorded.length >= seen.length, `${recorded.length} recorded, ${seen.length} seen`);
  assert.deepEqual(recorded.slice(0, seen.length), seen, 'tick for tick, in the order it was published');
  const infy = await all(readRecordedTicks(e.nc, { venue: 'kite', instrument: 'NSE:INFY' }));
  assert.ok(infy.every((x) => x.symbol === 'NSE:INFY'));
  // Numbered from the broker's lease epoch (actors/messages.ts TICK_EPOCH_SPAN), one after another.
  assert.deepEqual(infy.map((x) => x.seq), infy.map((_, i) => infy[0]!.seq + i), 'one instrument: every seq from the first, none missing');
  assert.equal(infy[0]!.seq % TICK_EPOCH_SPAN, 1, 'the first of this broker');

  // Exported into the store, they outlive the stream.
  const root = await mkdtemp(join(tmpdir(), 'orch-rec-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const n = await exportRecordedTicks(e.nc, { venue: 'kite', instrument: 'NSE:INFY' }, { root });
  assert.ok(n >= infy.length, 'the recording goes on while it is read');
  const stored = await all(readTicks({ venue: 'kite', instrument: 'NSE:INFY', from: 0, to: Infinity }, { root }));
  assert.equal(stored.length, n);
  assert.deepEqual(stored.slice(0, infy.length), infy);
});

test('recording is off by default: ticks flow and no stream is created', async (t) => {
  const { nc, natsUrl } = await kiteBrokerOnSim(t, { name: 'recording-off', strategies: [spec('listener', { instruments: ['NSE:INFY'] })], log });
  const ticks: Tick[] = [];
  subscribeParsed(nc, subjects.marketDataAll(), TickSchema, (x) => { ticks.push(x); });
  await eventually(() => ticks.length >= 3, 'ticks');
  const names = await all((await jetstreamManager(nc)).streams.names());
  assert.ok(!names.includes(STREAM_MARKET_DATA), `streams: ${names.join(', ')}`);
  const err: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'orch-rec-off-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.equal(await dataCmd(['ticks', '--nats', natsUrl, '--state-dir', dir], {}, { out: () => undefined, err: (s) => void err.push(s) }), 2);
  assert.match(err.join(''), /no recording on this server/);
  assert.deepEqual(RecordingSettingsSchema.parse({}), { marketData: false, maxAgeHours: 168, maxBytes: 1024 * 1024 * 1024 });
});

test('recording switched off keeps the recorded ticks and records nothing new; switched on again it records', async (t) => {
  const nats = await startNatsServer();
  const nc = await connectBus({ servers: nats.url, name: 'recording-pause' });
  t.after(async () => {
    await nc.close();
    await nats.cleanup();
  });
  const tick = (seq: number): Tick => ({ type: 'tick', venue: 'kite', symbol: 'NSE:INFY', seq, ts: 1_795_146_300_000 + seq, recvTs: 1_795_146_300_000 + seq, last: 150_000 + seq });
  const publish = async (seq: number) => {
    nc.publish(subjects.marketData('kite', 'NSE:INFY'), JSON.stringify(tick(seq)));
    await nc.flush();
  };
  const on = RecordingSettingsSchema.parse({ marketData: true });
  assert.equal(await applyMarketRecording(nc, on), 'recording');
  await publish(1);
  await publish(2);
  assert.equal(await applyMarketRecording(nc, undefined), 'paused');
  await publish(3);
  assert.deepEqual((await all(readRecordedTicks(nc))).map((x) => x.seq), [1, 2]);
  assert.deepEqual((await all(readRecordedTicks(nc, { venue: 'kite', instrument: 'NSE:INFY' }))).map((x) => x.seq), [1, 2], 'a paused recording still reads by instrument');
  assert.deepEqual(await all(readRecordedTicks(nc, { venue: 'kite', instrument: 'NSE:TCS' })), []);
  assert.equal(await applyMarketRecording(nc, on), 'recording');
  await publish(4);
  nc.publish(subjects.marketData('kite', 'NSE:INFY'), '{"not":"a tick"}');
  const invalid: number[] = [];
  await eventually(async () => (await (await jetstreamManager(nc)).streams.info(STREAM_MARKET_DATA)).state.messages === 4, 'the bad message stored too');
  assert.deepEqual((await all(readRecordedTicks(nc, { onInvalid: (s) => invalid.push(s) }))).map((x) => x.seq), [1, 2, 4], 'a message that is not a tick is skipped and reported');
  assert.deepEqual(invalid, [4]);

  // A size the server cannot reserve is refused naming the setting, not as a bare JetStream error.
  await ensureEventStream(nc); // 2 GiB of nats.conf's 4 GB
  await assert.rejects(applyMarketRecording(nc, RecordingSettingsSchema.parse({ marketData: true, maxBytes: 3 * 1024 ** 3 })), /recording\.maxBytes \(3221225472 bytes\).*max_file_store/);

  // orch data ticks copies the recording into the store.
  const dir = await mkdtemp(join(tmpdir(), 'orch-rec-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out: string[] = [];
  assert.equal(await dataCmd(['ticks', '--venue', 'kite', '--instrument', 'NSE:INFY', '--nats', nats.url, '--state-dir', dir], {}, { out: (s) => void out.push(s), err: (s) => void out.push(s) }), 0, out.join(''));
  assert.match(out.join(''), /stored 3 recorded ticks/);
  const stored = await all(readTicks({ venue: 'kite', instrument: 'NSE:INFY', from: 0, to: Infinity }, { root: join(dir, 'data') }));
  assert.deepEqual(stored.map((x) => x.seq), [1, 2, 4]);
});

test('the registry\'s recording: is validated with the rest (a bad value names its line and field) and reaches the loaded config', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'orch-rec-cfg-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'strategies.yaml');
  await writeFile(file, renderRegistry([{ id: 'listener', module: trader, instruments: ['NSE:INFY'] }], { recording: { marketData: true, maxBytes: 1000 } }));
  await assert.rejects(loadConfig(file), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.field, 'recording.maxBytes');
    assert.equal(e.line, 1);
    return true;
  });
  await writeFile(file, renderRegistry([{ id: 'listener', module: trader, instruments: ['NSE:INFY'] }], { recording: { marketData: true, maxAgeHours: 24 } }));
  assert.deepEqual((await loadConfig(file)).recording, { marketData: true, maxAgeHours: 24, maxBytes: 1024 * 1024 * 1024 });
  await writeFile(file, renderRegistry([{ id: 'listener', module: trader, instruments: ['NSE:INFY'] }]));
  assert.equal((await loadConfig(file)).recording, undefined, 'absent = off');
});
