import { z } from 'zod';

/** What the kill relay's thread starts with (supervisor/kill-relay-worker.ts). */
export type RelayStart = { natsUrl: string; user?: string; pass?: string; tlsCaFile?: string };

const id = z.string().min(1);
/** Commands from the supervisor's thread to the relay's, checked at the thread boundary. */
export const RelayCommandSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('gate'), strategyId: id, buffer: z.instanceof(SharedArrayBuffer) }),
  z.strictObject({ type: z.literal('forget'), strategyId: id }),
  z.strictObject({ type: z.literal('stop') }),
]);
export type RelayCommand = z.infer<typeof RelayCommandSchema>;

/** `ready` once connected and subscribed (flushed): the relay's start resolves on it. */
export type RelayReport = { type: 'ready' } | { type: 'invalid'; error: string };
