import { z } from 'zod';
import { VenueSchema } from '../actors/messages.ts';

/** What the market-data hub's thread starts with (supervisor/md-hub-worker.ts). */
export type HubStart = { natsUrl: string; user?: string; pass?: string; tlsCaFile?: string };

/** Commands from the supervisor's thread to the hub's, checked at the thread boundary. */
export const HubCommandSchema = z.discriminatedUnion('type', [
  /** A worker starts: its buffer has one slot per symbol, in this order. */
  z.strictObject({ type: z.literal('attach'), feedId: z.number().int().positive(), venue: VenueSchema, symbols: z.array(z.string().min(1)), buffer: z.instanceof(SharedArrayBuffer) }),
  /** Its worker ended: nothing more is written there, and instruments no other worker trades are unsubscribed. */
  z.strictObject({ type: z.literal('detach'), feedId: z.number().int().positive() }),
  /** Answered with a `subjects` report: what the hub subscribes to now (tests, status). */
  z.strictObject({ type: z.literal('subjects') }),
  z.strictObject({ type: z.literal('stop') }),
]);
export type HubCommand = z.infer<typeof HubCommandSchema>;

/** `ready` once connected, warmed up and listening; a dead letter for the process's metrics and log. */
export type HubReport =
  | { type: 'ready' }
  | { type: 'invalid'; error: string }
  | { type: 'dead-letter'; subject: string; error: string; bytes: number }
  | { type: 'catch-up-failed'; venue: string; error: string }
  /** The server refused or ended an instrument's subscription (a NATS user without `orch.md.>`). */
  | { type: 'subscription-error'; subject: string; error: string }
  | { type: 'subjects'; subjects: string[] };
