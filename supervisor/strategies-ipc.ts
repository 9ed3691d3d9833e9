import { z } from 'zod';

/**
 * What the launcher (supervisor/strategies-process.ts) and the permission-restricted strategies
 * process (supervisor/strategies-main.ts) say to each other over the IPC channel. The strategies
 * process holds no NATS password of its own: it asks for the supervisor's and each strategy's
 * user as it needs them, and the launcher answers no other role.
 */
export const StrategiesStartSchema = z.object({
  configFile: z.string().min(1),
  natsUrl: z.string().min(1),
  group: z.string().min(1).optional(),
  natsCaFile: z.string().min(1).optional(),
  /** The one folder this process may write: compiled strategy code (supervisor/transpile.ts). */
  compileDir: z.string().min(1),
  /** Our own worker code the launcher compiled into it, by source file (supervisor/worker-code.ts usePrecompiled). */
  precompiled: z.record(z.string().min(1), z.string().min(1)),
  logFormat: z.enum(['json', 'pretty']),
  logColor: z.boolean().optional(),
  logLevel: z.string().min(1).optional(),
  hotReload: z.boolean().optional(),
  /** Its own /metrics and /healthz (supervisor/strategies-host.ts); false = none. */
  metricsPort: z.union([z.number().int().min(0).max(65_535), z.literal(false)]),
  metricsHost: z.string().min(1),
});
export type StrategiesStart = z.infer<typeof StrategiesStartSchema>;

/** The roles the strategies process may hold credentials of. */
export const AskedRoleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('supervisor') }),
  z.object({ kind: z.literal('strategy'), strategyId: z.string().min(1) }),
]);

export const ChildMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('credentials'), id: z.number().int(), role: AskedRoleSchema }),
  z.object({ type: z.literal('running'), strategies: z.array(z.string()), metricsUrl: z.string().optional() }),
  /** Each strategy's state in its supervisor (supervisor/supervisor.ts ChildStatus), sent when one changes: the launcher's console summary reads them. */
  z.object({ type: z.literal('statuses'), statuses: z.record(z.string(), z.string()) }),
]);
export type ChildMessage = z.infer<typeof ChildMessageSchema>;

export const ParentMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('credentials'), id: z.number().int(),
    /** Absent: the server is open (no users). */
    credentials: z.object({ user: z.string(), pass: z.string() }).optional(),
    error: z.string().optional(),
  }),
]);
export type ParentMessage = z.infer<typeof ParentMessageSchema>;
