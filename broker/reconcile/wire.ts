import { z } from 'zod';
import { ReconcileReportSchema } from '../events/schema.ts';

/** `orch reconcile` → broker on subjects.reconcileRequest(); the reply carries one report per venue. */
export const ReconcileRequestSchema = z.strictObject({
  by: z.string().min(1).optional(),
  /** Net positions no strategy explains become the baseline instead of a mismatch (`orch reconcile --accept-external`). */
  acceptExternal: z.boolean().optional(),
});
export const ReconcileReplySchema = z.strictObject({ reports: z.array(ReconcileReportSchema) });
export type ReconcileReply = z.infer<typeof ReconcileReplySchema>;
