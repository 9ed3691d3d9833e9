import { z } from 'zod';

/**
 * Registry `recording:`: whether the broker keeps the market data it publishes (every
 * `orch.md.>` tick) in the JetStream stream ORCH_MD, so a live or paper day can be replayed tick
 * for tick (docs/backtest.md, "Recording"). Off unless `marketData: true`. The oldest ticks go
 * first when either limit is reached; the event log is never touched by it.
 */
export const RecordingSettingsSchema = z.strictObject({
  marketData: z.boolean().default(false),
  /** Ticks older than this are dropped (hours; default a week). */
  maxAgeHours: z.number().positive().max(24 * 366 * 10).default(24 * 7),
  /** Size limit of the stream on disk (bytes; default 1 GiB). */
  maxBytes: z.number().int().min(1024 * 1024, 'at least 1 MiB').max(Number.MAX_SAFE_INTEGER).default(1024 * 1024 * 1024),
});
export type RecordingSettings = z.infer<typeof RecordingSettingsSchema>;
