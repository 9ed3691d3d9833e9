import { z } from 'zod';

/** What the kill relay's thread starts with (supervisor/kill-relay-worker.ts). */
export type RelayStart = { natsUrl: string; user?: string; pass?: string; tlsCaFile?: string };

const id = z.string().min(1);
/** Commands from the supervisor's thread to the relay's, checked at the thread boundary. */
export const RelayCommandSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('gate'), strategyId: id, buffer: z.instanceof(SharedArrayBuffer) }),
  z.strictObject({ type: z.literal('forget'), strategyId: id }),
  z.strictObject({ type: z.literal('flush'), seq: z.number().int() }),
  z.strictObject({ type: z.literal('stop') }),
]);
export type RelayCommand = z.infer<typeof RelayCommandSchema>;

export type RelayReport = { type: 'ready' } | { type: 'flushed'; seq: number } | { type: 'invalid'; error: string };
