import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, DiscardPolicy, RetentionPolicy, StorageType, JetStreamApiError } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { subjects, STREAM_MARKET_DATA } from '../actors/subjects.ts';
import type { RecordingSettings } from '../config/recording.ts';

/**
 * The market-data recording (registry `recording:`, docs/backtest.md "Recording"): the stream
 * ORCH_MD captures every tick the broker publishes on `orch.md.>`, on the server, so the
 * broker's publish path is unchanged and a tick is recorded exactly as strategies received it.
 * Unlike the event log, the oldest ticks are dropped at the age or size limit: a full recording
 * must never stop market data.
 */
const NS_PER_HOUR = 3_600 * 1_000_000_000;

export type RecordingState = 'recording' | 'paused' | 'off';

/**
 * Applies the settings at start (`replicas`: as the event log's, 3 on a cluster). On: the stream is created, or its subjects and limits updated.
 * Off (absent or `marketData: false`): no stream is created; an existing one stops capturing
 * (its subjects become its own name) and keeps what it recorded, for a replay or an export.
 */
export async function applyMarketRecording(nc: NatsConnection, settings: RecordingSettings | undefined, o: { log?: Logger; replicas?: number } = {}): Promise<RecordingState> {
  const { log } = o;
  const jsm = await jetstreamManager(nc);
  let exists = true;
  try {
    await jsm.streams.info(STREAM_MARKET_DATA);
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.code === 10059)) throw e; // 10059: stream not found
    exists = false;
  }
  if (!settings?.marketData) {
    if (!exists) return 'off';
    await jsm.streams.update(STREAM_MARKET_DATA, { subjects: [STREAM_MARKET_DATA] });
    log?.info({ stream: STREAM_MARKET_DATA }, 'market-data recording off: the stream keeps what it recorded and records nothing new');
    return 'paused';
  }
  const limits = {
    subjects: [subjects.marketDataAll()],
    max_age: Math.round(settings.maxAgeHours * NS_PER_HOUR),
    max_bytes: settings.maxBytes,
    discard: DiscardPolicy.Old,
  };
  try {
    if (exists) await jsm.streams.update(STREAM_MARKET_DATA, limits);
    else await jsm.streams.add({ name: STREAM_MARKET_DATA, storage: StorageType.File, retention: RetentionPolicy.Limits, num_replicas: o.replicas ?? 1, ...limits });
  } catch (e) {
    // 10047: the server cannot reserve max_bytes (its max_file_store, shared with the event log).
    if (e instanceof JetStreamApiError && e.code === 10047) {
      throw new Error(`registry recording.maxBytes (${settings.maxBytes} bytes): the NATS server cannot reserve that much file storage (nats.conf jetstream max_file_store, shared with the event log ORCH_EVENTS): lower it or raise max_file_store`, { cause: e });
    }
    throw e;
  }
  log?.info({ stream: STREAM_MARKET_DATA, maxAgeHours: settings.maxAgeHours, maxBytes: settings.maxBytes }, 'recording market data');
  return 'recording';
}
