import { z } from 'zod';
import { ReconcileReportSchema } from '../events/schema.ts';

/** `orch reconcile` → broker on subjects.reconcileRequest(); the reply carries one report per venue. */
export const ReconcileRequestSchema = z.strictObject({ by: z.string().min(1).optional() });
export const ReconcileReplySchema = z.strictObject({ reports: z.array(ReconcileReportSchema) });
export type ReconcileReply = z.infer<typeof ReconcileReplySchema>;
