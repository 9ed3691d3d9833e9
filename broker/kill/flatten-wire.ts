import { z } from 'zod';

/**
 * `orch flatten --strategy ID` → broker on subjects.flattenRequest(): halt the strategy and close
 * its positions, followed to flat. Only the operator's credential may publish there
 * (supervisor/nats-auth.ts: strategies publish on their own intent subject only).
 */
const id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');

export const FlattenRequestSchema = z.strictObject({
  strategyId: id,
  reason: z.string().trim().min(1, 'reason: required (it is kept in the audit trail)').max(500),
  by: z.string().min(1).max(200),
});
export type FlattenRequest = z.infer<typeof FlattenRequestSchema>;

const Remaining = z.strictObject({ venue: z.string(), symbol: z.string(), qty: z.number().int() });
export const FlattenReplySchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), rounds: z.number().int().nonnegative(), orders: z.number().int().nonnegative(), flat: z.boolean(), remaining: z.array(Remaining) }),
  z.strictObject({ ok: z.literal(false), error: z.string() }),
]);
export type FlattenReply = z.infer<typeof FlattenReplySchema>;
